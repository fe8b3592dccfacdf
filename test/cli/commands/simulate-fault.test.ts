/**
 * The simulator survives the platform going away: `iotctl simulate` against `iotctl local`
 * (both real child processes), the platform SIGKILLed mid-run. Restarted on the same data dir
 * and ports, the devices reconnect (backoff with jitter), subscribe again, send again what was
 * not acknowledged, and the accounting is exact; never restarted, each device gives up after its
 * bounded attempts, and the simulator still prints its accounting and exits non-zero.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { READY_LINE } from '../../../src/cli/commands/local.js';

const BIN = new URL('../../../bin/iotctl.js', import.meta.url).pathname;

function where(output: string, service: string): string {
  const match = new RegExp(`^${service}\\s+(\\S+)$`, 'm').exec(output);
  if (!match) throw new Error(`no ${service} row in:\n${output}`);
  return match[1]!;
}

/** A port the OS has just handed out and released: the restarted platform must come back on the same ones. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Bytes the platform's durable stream holds: readings it has acknowledged. */
function streamBytes(dir: string): number {
  try {
    return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  } catch {
    return 0;
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('iotctl simulate when the platform dies', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function startPlatform(dataDir: string, ports: string[]): Promise<{ child: ChildProcess; output: () => string }> {
    const child = spawn(process.execPath, [BIN, 'local', '--data-dir', dataDir, ...ports], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`iotctl local exited early:\n${output}`);
      return output.includes(READY_LINE);
    }, 'iotctl local to be ready');
    return { child, output: () => output };
  }

  function startSimulator(platformOutput: string, dataDir: string, extra: string[]) {
    const mqttPort = new URL(where(platformOutput, 'mqtt').replace('mqtts:', 'http:')).port;
    const child = spawn(
      process.execPath,
      [BIN, 'simulate', '--devices', '3', '--rate', '10', '--duration', '10', '--endpoint', where(platformOutput, 'dynamodb'), '--data-dir', dataDir, '--mqtt-port', mqttPort, ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, out: () => out, exited };
  }

  it('reconnects to the platform restarted on the same data dir, and every sent reading is accounted for exactly', async () => {
    // Prepare: the platform on fixed ports, so its restart listens where the devices look for it
    const dataDir = mkdtempSync(join(tmpdir(), 'iotctl-sim-restart-'));
    dirs.push(dataDir);
    const ports = ['--port-dynamodb', String(await freePort()), '--port-mqtt', String(await freePort()), '--port-graphql', String(await freePort()), '--port-grpc', String(await freePort())];
    const first = await startPlatform(dataDir, ports);
    const simulator = startSimulator(first.output(), dataDir, []);

    // Act: SIGKILL the platform once readings have reached its ingest stream, restart it
    await waitFor(() => {
      if (simulator.child.exitCode !== null) throw new Error(`simulate exited early:\n${simulator.out()}`);
      return streamBytes(join(dataDir, 'streams', 'ingest')) > 4_096;
    }, 'readings in the ingest stream');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const second = await startPlatform(dataDir, ports);
    const code = await simulator.exited;

    // Assess
    const out = simulator.out();
    expect(out).toMatch(/^reconnected [3-9]\d* time\(s\)$/m);
    const accounting = /^accounting: sent (\d+) = stored (\d+) \+ dead-lettered (\d+) \+ failed (\d+) \(exact\)$/m.exec(out);
    expect(accounting, out).not.toBeNull();
    const [, sent, stored, deadLettered, failed] = accounting!.map(Number);
    expect(sent).toBe(300);
    expect([stored, deadLettered, failed]).toEqual([300, 0, 0]);
    expect(out).toMatch(/^sent 300, acknowledged 300, failed 0/m);
    expect(code, out).toBe(0);
    expect(second.output()).toContain(READY_LINE);
  }, 300_000);

  it('gives up after its bounded attempts when the platform stays down, prints its accounting and exits non-zero', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'iotctl-sim-fault-'));
    dirs.push(dataDir);
    const platform = await startPlatform(dataDir, ['--port-dynamodb', '0', '--port-mqtt', '0', '--port-graphql', '0', '--port-grpc', '0']);
    const simulator = startSimulator(platform.output(), dataDir, ['--drain-timeout', '5', '--reconnect-attempts', '3', '--reconnect-timeout', '5', '--reconnect-max-delay', '1']);

    // Act: kill the platform once readings have reached its ingest stream (every device is connected then)
    await waitFor(() => {
      if (simulator.child.exitCode !== null) throw new Error(`simulate exited early:\n${simulator.out()}`);
      return streamBytes(join(dataDir, 'streams', 'ingest')) > 4_096;
    }, 'readings in the ingest stream');
    platform.child.kill('SIGKILL');
    const code = await simulator.exited;

    // Assess
    const out = simulator.out();
    expect(out).toMatch(/^sent \d+, acknowledged \d+, failed [1-9]\d*/m);
    expect(out).toMatch(/3 device\(s\) gave up reconnecting/);
    expect(out).toMatch(/^accounting: /m);
    expect(code, out).toBe(1);
  }, 180_000);
});
