import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { READY_LINE } from '../../../src/cli/commands/local.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../src/local/dynamodb/dynalite.js';

const BIN = new URL('../../../bin/iotctl.js', import.meta.url).pathname;
const ANY_PORTS = ['--port-dynamodb', '0', '--port-mqtt', '0', '--port-graphql', '0', '--port-grpc', '0'];

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Running {
  // As a program, through its first line, as `npm start` runs it.
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function waitForLine(running: Running, line: string): Promise<void> {
  while (!running.output().includes(line)) {
    if (running.child.exitCode !== null) throw new Error(`iotctl exited early:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Each test starts whole platforms in child processes: CI-sized timeout.
const CHILD_PROCESS_TIMEOUT_MS = 90_000;

describe('iotctl local', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('comes up ephemeral with its heap caps, prints where DynamoDB runs and the local ingest batching, and exits 0 on SIGTERM', async () => {
    // Prepare
    const { INGEST_BATCH_SIZE: _size, INGEST_BATCH_WINDOW_SECONDS: _window, ...env } = process.env;
    const running = run(['local', '--ephemeral', ...ANY_PORTS], env);
    children.push(running.child);
    await waitForLine(running, READY_LINE);
    const endpoint = /^dynamodb\s+(http:\/\/\S+)$/m.exec(running.output())?.[1];
    const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const tables = await client.send(new ListTablesCommand({}));
    client.destroy();

    // Act
    running.child.kill('SIGTERM');
    const exit = await running.exited;

    // Assess
    expect(tables.TableNames).toEqual(expect.arrayContaining(['iot-Devices', 'iot-Stats', 'iot-Telemetry']));
    expect(running.output()).toMatch(/^ingest batches\s+up to 10000 records or 1 s /m);
    expect(running.output()).toContain('[local] heap growth --heap-growing-percent=40, young generation --max-semi-space-size=4\n');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(running.output()).toContain('stopped');
  }, CHILD_PROCESS_TIMEOUT_MS);

  it('exits 1 with a clear message when another instance holds the data directory', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'iotctl-local-'));
    const first = run(['local', '--data-dir', dataDir, ...ANY_PORTS]);
    children.push(first.child);
    await waitForLine(first, READY_LINE);

    try {
      // Act
      const second = run(['local', '--data-dir', dataDir, ...ANY_PORTS]);
      children.push(second.child);
      const exit = await second.exited;

      // Assess
      expect(exit.code).toBe(1);
      expect(second.output()).toContain(`${dataDir} is in use by another local platform (pid ${first.child.pid})`);
      expect(second.output()).not.toContain(READY_LINE);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, CHILD_PROCESS_TIMEOUT_MS);

  it('rejects a port that is not a number with a usage error', async () => {
    // Act
    const running = run(['local', '--ephemeral', '--port-dynamodb', 'eighty']);
    children.push(running.child);
    const exit = await running.exited;

    // Assess
    expect(exit.code).not.toBe(0);
    expect(running.output()).toMatch(/--port-dynamodb.*expected a port number/);
  }, CHILD_PROCESS_TIMEOUT_MS);
});
