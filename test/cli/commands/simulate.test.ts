import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile, register } from '../../../src/cli/commands/simulate.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';

// Deliver each ingest batch at once instead of after the 60 s window.
process.env.INGEST_BATCH_WINDOW_SECONDS = '0';

describe('iotctl simulate (local)', () => {
  let dataDir: string;
  let platform: LocalPlatform;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iotctl-simulate-'));
    platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
  });
  afterAll(async () => {
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function run(args: string[]) {
    const lines: string[] = [];
    const errors: string[] = [];
    const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program, (line) => lines.push(line), (line) => errors.push(line));
    process.exitCode = 0;
    await program.parseAsync(['node', 'iotctl', 'simulate', ...args]);
    const exitCode = Number(process.exitCode ?? 0);
    process.exitCode = 0;
    return { lines, errors, exitCode };
  }

  it('publishes from every device and accounts for every message as stored or dead-lettered, also when devices are reused', async () => {
    // Prepare
    const mqttPort = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:')).port;
    const args = ['--devices', '4', '--rate', '5', '--duration', '2', '--invalid-percent', '25', '--endpoint', platform.dynamodbEndpoint, '--data-dir', dataDir, '--mqtt-port', mqttPort];

    // Act
    const first = await run(args);
    const second = await run(args);

    // Assess
    for (const result of [first, second]) {
      expect(result.errors).toEqual([]);
      expect(result.exitCode, result.lines.join('\n')).toBe(0);
      expect(result.lines).toContain('devices 4 (connected 4)');
      expect(result.lines.find((l) => l.startsWith('sent '))).toMatch(/^sent 40, acknowledged 40, failed 0 /);
      expect(result.lines.find((l) => l.startsWith('publish-to-ack'))).toMatch(/p50 \d+\.\d ms, p99 \d+\.\d ms/);
      const accounting = result.lines.find((l) => l.startsWith('accounting:'))!;
      const [, sent, stored, dead] = /^accounting: sent (\d+) = stored (\d+) \+ dead-lettered (\d+) \(exact\)$/.exec(accounting)!;
      expect(Number(stored) + Number(dead)).toBe(Number(sent));
    }
    expect(first.lines[1]).toMatch(/created 4/);
    expect(second.lines[1]).toMatch(/unchanged 4/);
  });

  it('refuses a rate above IoT Core’s per-connection limit', async () => {
    // Act / Assess
    await expect(run(['--devices', '1', '--rate', '101', '--duration', '1'])).rejects.toThrow(/at most 100/);
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    // Prepare
    const values = Array.from({ length: 100 }, (_, i) => i + 1);

    // Act / Assess
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
