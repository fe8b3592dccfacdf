import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandStatus } from '../../../src/commands/command.js';
import { register } from '../../../src/cli/commands/simulate.js';
import { commandAccountingLine } from '../../../src/cli/simulator/command-driver.js';
import { decide, type CommandDecision } from '../../../src/cli/simulator/command-responder.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { readDeviceBundle } from '../../../src/provisioning/device-bundle.js';
import { runCommand } from './run-command.js';

process.env.INGEST_BATCH_WINDOW_SECONDS = '0';

const ACCOUNTING = /^commands sent (\d+) = succeeded (\d+) \+ failed (\d+) \+ rejected (\d+) \+ timed out (\d+) \(exact\)$/;

describe('iotctl simulate --commands (local)', () => {
  let dataDir: string;
  let platform: LocalPlatform;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iotctl-simulate-commands-'));
    platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
  });
  afterAll(async () => {
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const run = (args: string[]) => runCommand(register, 'simulate', args);

  /** The statuses of the simulated commands the platform holds for the simulator's devices, counted through the service. */
  async function platformCounts(devices: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (let i = 1; i <= devices; i++) {
      const { manifest } = await readDeviceBundle(join(dataDir, 'simulator', `sim-${i}`));
      let nextToken: string | undefined;
      do {
        const page = await platform.commands.list({ deviceId: manifest.thingName, limit: 100, ...(nextToken && { pageToken: nextToken }) });
        for (const command of page.items) counts[command.status] = (counts[command.status] ?? 0) + 1;
        nextToken = page.nextPageToken;
      } while (nextToken);
    }
    return counts;
  }

  it.each([
    { mqtt: '3.1.1', shares: ['--command-success', '40', '--command-failure', '20', '--command-reject', '20'] },
    { mqtt: '5', shares: [] },
  ])('devices over MQTT $mqtt answer the commands sent during the run and report desired state; every command is accounted for', async ({ mqtt, shares }) => {
    // Prepare
    const before = await platformCounts(3).catch(() => ({}) as Record<string, number>);
    const mqttPort = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:')).port;
    const args = [
      '--devices', '3', '--rate', '2', '--duration', '4', '--commands', '--command-rate', '6', '--desired-rate', '2', '--command-timeout', '15', '--drain-timeout', '30',
      '--mqtt-version', mqtt, ...shares,
      '--endpoint', platform.dynamodbEndpoint, '--data-dir', dataDir, '--mqtt-port', mqttPort, '--graphql-url', platform.endpoints.graphql!,
    ];

    // Act (a generous timeout: on a loaded machine an answer can take seconds to be recorded)
    const result = await run(args);
    const after = await platformCounts(3);

    // Assess
    expect(result.errors).toEqual([]);
    expect(result.exitCode, result.lines.join('\n')).toBe(0);
    const line = result.lines.find((l) => l.startsWith('commands sent'))!;
    const [sent, succeeded, failed, rejected, timedOut] = ACCOUNTING.exec(line)!.slice(1).map(Number) as [number, number, number, number, number];
    expect(sent).toBeGreaterThan(0);
    expect(succeeded + failed + rejected + timedOut).toBe(sent);
    // The platform's own records agree with the line, status by status.
    const delta = (status: CommandStatus) => (after[status] ?? 0) - (before[status] ?? 0);
    expect([delta('SUCCEEDED'), delta('FAILED'), delta('REJECTED'), delta('TIMED_OUT'), delta('CREATED'), delta('IN_PROGRESS')]).toEqual([succeeded, failed, rejected, timedOut, 0, 0]);
    expect(result.lines.find((l) => l.startsWith('twin:'))).toMatch(/^twin: desired updates [1-9]\d* to (\d+) device\(s\), reported back by \1 of \1 \(exact\)$/);
    expect(result.lines.find((l) => l.startsWith('accounting:'))).toMatch(/\(exact\)$/);
  }, 180_000);

  it('refuses shares that add up to more than 100', async () => {
    // Act
    const result = await run(['--devices', '1', '--rate', '1', '--duration', '1', '--commands', '--command-success', '90', '--command-failure', '20', '--endpoint', platform.dynamodbEndpoint, '--data-dir', dataDir, '--mqtt-port', '1']);

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(/add up to more than 100/);
  });
});

describe('commandAccountingLine', () => {
  const sent = new Map([
    ['a', 'd1'],
    ['b', 'd1'],
    ['c', 'd2'],
    ['d', 'd2'],
  ]);
  const decisions = new Map<string, CommandDecision>([
    ['a', 'SUCCEEDED'],
    ['b', 'REJECTED'],
    ['c', 'SILENT'],
  ]);

  it('is exact when every command is final and the counts match what the devices decided (undelivered ones time out)', () => {
    // Act
    const result = commandAccountingLine({ sent: 4, succeeded: 1, failed: 0, rejected: 1, timedOut: 2, unsettled: 0 }, decisions, sent);

    // Assess
    expect(result).toEqual({ line: 'commands sent 4 = succeeded 1 + failed 0 + rejected 1 + timed out 2 (exact)', exact: true });
  });

  it('is not exact when a command is not final, or an answer the device gave did not count', () => {
    // Act
    const open = commandAccountingLine({ sent: 4, succeeded: 1, failed: 0, rejected: 1, timedOut: 1, unsettled: 1 }, decisions, sent);
    const lostAnswer = commandAccountingLine({ sent: 4, succeeded: 0, failed: 0, rejected: 1, timedOut: 3, unsettled: 0 }, decisions, sent);

    // Assess
    expect(open).toEqual({ line: 'commands sent 4 ≠ succeeded 1 + failed 0 + rejected 1 + timed out 1 (1 not final); the devices answered succeeded 1, failed 0, rejected 1', exact: false });
    expect(lostAnswer.exact).toBe(false);
    expect(lostAnswer.line).toMatch(/^commands sent 4 ≠ succeeded 0 \+ failed 0 \+ rejected 1 \+ timed out 3; the devices answered succeeded 1/);
  });
});

describe('decide', () => {
  it('draws each decision in its share, the rest silent', () => {
    // Prepare
    const behaviour = { successPercent: 50, failurePercent: 20, rejectPercent: 10, latencyMs: 0 };
    const rolls = [0, 0.499, 0.5, 0.699, 0.7, 0.799, 0.8, 0.999];

    // Act
    const decisions = rolls.map((roll) => decide(behaviour, () => roll));

    // Assess
    expect(decisions).toEqual(['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'FAILED', 'REJECTED', 'REJECTED', 'SILENT', 'SILENT']);
  });
});
