import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountingLine, percentile, register } from '../../../src/cli/commands/simulate.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { runCommand } from './run-command.js';

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

  const run = (args: string[]) => runCommand(register, 'simulate', args);

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
      const [, sent, stored, dead, failed] = /^accounting: sent (\d+) = stored (\d+) \+ dead-lettered (\d+) \+ failed (\d+) \(exact\)$/.exec(accounting)!;
      expect(Number(failed)).toBe(0);
      expect(Number(stored) + Number(dead)).toBe(Number(sent));
    }
    expect(first.lines[1]).toMatch(/created 4/);
    expect(second.lines[1]).toMatch(/unchanged 4/);
    // Two whole simulator runs (provisioning, 2 s of publishing, draining): ~30 s on a loaded machine.
  }, 90_000);

  it('sends schema v2 with --points-per-message and accounts for every reading, a bad point dead-lettered alone', async () => {
    // Prepare
    const mqttPort = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:')).port;
    const args = ['--devices', '2', '--rate', '2', '--duration', '2', '--points-per-message', '10', '--invalid-percent', '50', '--endpoint', platform.dynamodbEndpoint, '--data-dir', dataDir, '--mqtt-port', mqttPort];

    // Act
    const result = await run(args);

    // Assess
    expect(result.errors).toEqual([]);
    expect(result.exitCode, result.lines.join('\n')).toBe(0);
    expect(result.lines.find((l) => l.startsWith('publishing'))).toMatch(/8 messages at QoS 1 of 10 readings \(schema v2\)$/);
    const invalid = Number(/invalid on purpose (\d+)/.exec(result.lines.find((l) => l.startsWith('sent '))!)![1]);
    const accounting = result.lines.find((l) => l.startsWith('accounting:'))!;
    const [, sent, stored, dead, failed] = /^accounting: sent (\d+) = stored (\d+) \+ dead-lettered (\d+) \+ failed (\d+) \(exact\)$/.exec(accounting)!.map(Number);
    expect([sent, failed, dead, stored]).toEqual([80, 0, invalid, 80 - invalid]);
  });

  it('prints the inexact accounting and exits non-zero when the stores do not hold every sent message', async () => {
    // Prepare: a second platform whose ingest batch closes only after 300 s, so nothing is
    // stored within the 1 s drain timeout.
    const slowDir = await mkdtemp(join(tmpdir(), 'iotctl-simulate-slow-'));
    process.env.INGEST_BATCH_WINDOW_SECONDS = '300';
    const slow = await startLocalPlatform({ dataDir: slowDir, ports: ANY_FREE_PORTS }).finally(() => {
      process.env.INGEST_BATCH_WINDOW_SECONDS = '0';
    });
    try {
      const mqttPort = new URL(slow.endpoints.mqtt!.replace('mqtts:', 'http:')).port;

      // Act
      const result = await run(['--devices', '1', '--rate', '5', '--duration', '1', '--drain-timeout', '1', '--endpoint', slow.dynamodbEndpoint, '--data-dir', slowDir, '--mqtt-port', mqttPort]);

      // Assess
      expect(result.lines.find((l) => l.startsWith('sent '))).toMatch(/^sent 5, acknowledged 5, failed 0 /);
      expect(result.lines).toContain('accounting: sent 5 ≠ stored 0 + dead-lettered 0 + failed 0');
      expect(result.exitCode).toBe(1);
    } finally {
      await slow.stop();
      await rm(slowDir, { recursive: true, force: true });
    }
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

describe('accountingLine', () => {
  it('accounts for failed publishes on the basis of every sent message and is exact when the stores make it hold', () => {
    // Act
    const result = accountingLine({ sent: 100, failed: 3, stored: 90, deadLettered: 7 });

    // Assess
    expect(result).toEqual({ line: 'accounting: sent 100 = stored 90 + dead-lettered 7 + failed 3 (exact)', exact: true });
  });

  it('is not exact when an unacknowledged message was stored after all, or one is missing', () => {
    // Act
    const overCounted = accountingLine({ sent: 100, failed: 3, stored: 91, deadLettered: 7 });
    const missing = accountingLine({ sent: 100, failed: 0, stored: 92, deadLettered: 7 });

    // Assess
    expect(overCounted).toEqual({ line: 'accounting: sent 100 ≠ stored 91 + dead-lettered 7 + failed 3', exact: false });
    expect(missing).toEqual({ line: 'accounting: sent 100 ≠ stored 92 + dead-lettered 7 + failed 0', exact: false });
  });
});
