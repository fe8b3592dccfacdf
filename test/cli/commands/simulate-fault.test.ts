/**
 * The simulator survives the platform going away: `iotctl simulate` against `iotctl local`
 * (both real child processes), the platform SIGKILLed mid-run; the simulator still prints its
 * accounting and exits non-zero, instead of dying silently (exit 13) as it did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { READY_LINE } from '../../../src/cli/commands/local.js';

const BIN = new URL('../../../bin/iotctl.js', import.meta.url).pathname;
const ANY_PORTS = ['--port-dynamodb', '0', '--port-mqtt', '0', '--port-graphql', '0', '--port-grpc', '0'];

function where(output: string, service: string): string {
  const match = new RegExp(`^${service}\\s+(\\S+)$`, 'm').exec(output);
  if (!match) throw new Error(`no ${service} row in:\n${output}`);
  return match[1]!;
}

describe('iotctl simulate when the platform dies', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('prints its accounting and exits non-zero after a SIGKILL of iotctl local', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'iotctl-sim-fault-'));
    dirs.push(dataDir);
    const platform = spawn(process.execPath, [BIN, 'local', '--data-dir', dataDir, ...ANY_PORTS], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(platform);
    let platformOutput = '';
    platform.stdout!.on('data', (chunk: Buffer) => (platformOutput += chunk.toString()));
    platform.stderr!.on('data', (chunk: Buffer) => (platformOutput += chunk.toString()));
    while (!platformOutput.includes(READY_LINE)) {
      if (platform.exitCode !== null) throw new Error(`iotctl local exited early:\n${platformOutput}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const mqttPort = new URL(where(platformOutput, 'mqtt').replace('mqtts:', 'http:')).port;
    const simulator = spawn(
      process.execPath,
      [BIN, 'simulate', '--devices', '3', '--rate', '10', '--duration', '8', '--endpoint', where(platformOutput, 'dynamodb'), '--data-dir', dataDir, '--mqtt-port', mqttPort, '--drain-timeout', '5'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(simulator);
    let out = '';
    simulator.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    simulator.stderr!.on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => simulator.once('exit', (code) => resolve(code)));

    // Act: kill the platform once the fleet is publishing
    while (!out.includes('publishing')) {
      if (simulator.exitCode !== null) throw new Error(`simulate exited early:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    platform.kill('SIGKILL');
    const code = await exited;

    // Assess
    expect(out).toMatch(/^sent \d+, acknowledged \d+, failed \d+/m);
    expect(out).toMatch(/^accounting: /m);
    expect(code, out).not.toBe(0);
    expect(code, out).not.toBe(13);
  }, 180_000);
});
