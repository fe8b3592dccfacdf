import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/alarm.js';
import { startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';

describe('iotctl alarm', () => {
  let dataDir: string;
  let platform: LocalPlatform;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'iotctl-alarm-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
  });
  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function run(args: string[]): Promise<{ out: string[]; err: string[]; code: number | undefined }> {
    const out: string[] = [];
    const err: string[] = [];
    const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: (t) => void err.push(t.trim()), writeOut: () => {} });
    register(program, (line) => out.push(line), (line) => err.push(line));
    process.exitCode = undefined;
    try {
      await program.parseAsync(['node', 'iotctl', 'alarm', ...args, '--url', platform.endpoints.graphql!, '--data-dir', dataDir]);
    } catch {
      // commander's exitOverride: the message is in err
    }
    const code = process.exitCode as number | undefined;
    process.exitCode = undefined;
    return { out, err, code };
  }

  it('creates, lists and deletes rules, and lists, disables, snoozes and acknowledges alarms', async () => {
    // Prepare
    const device = await platform.registry.create({ name: 'pump', type: 'pump' });

    // Act
    const created = await run(['rule', 'create', '--name', 'hot pump', '--severity', 'HIGH', '--type', 'pump', '--metric', 'temperature', '--op', '>', '--threshold', '30', '--clear', '28', '--for', '300', '--json']);
    const rule = JSON.parse(created.out[0]!) as { id: string; condition: Record<string, unknown> };
    const silent = await run(['rule', 'create', '--name', 'quiet', '--severity', 'LOW', '--device', device.id, '--silent-for', '600']);
    const acting = await run(['rule', 'create', '--name', 'shut', '--severity', 'HIGH', '--device', device.id, '--metric', 'temperature', '--op', '>=', '--threshold', '90', '--command', 'shut_off', '--command-payload', '{"valve":"closed"}', '--command-timeout', '30', '--command-on', 'active,latched']);
    const quietMetric = await run(['rule', 'create', '--name', 'no pressure', '--severity', 'LOW', '--device', device.id, '--metric', 'pressure', '--silent-for', '120', '--json']);
    const listed = await run(['rule', 'list']);
    const alarmId = `${rule.id}.${device.id}`;
    const disabled = await run(['disable', alarmId]);
    const enabled = await run(['enable', alarmId]);
    const snoozed = await run(['snooze', alarmId, '60', '--note', 'pump swap']);
    const refusedAck = await run(['ack', alarmId, '--note', 'n/a']);
    const alarms = await run(['list', '--state', 'SNOOZE_DISABLED', '--json']);
    const deleted = await run(['rule', 'delete', rule.id]);
    const afterDelete = await run(['list', '--device', device.id, '--json']);

    // Assess
    expect(rule.condition).toMatchObject({ kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, forSeconds: 300 });
    expect(silent.out[0]).toMatch(/LOW +v1 +quiet: no data for 600 s on device /);
    expect(listed.out.join('\n')).toContain('hot pump: temperature > 30 (clears past 28) for 300 s on type pump');
    expect(acting.out[0]).toMatch(/shut: temperature >= 90 on device .*, sends shut_off \{"valve":"closed"\} on ACTIVE\/LATCHED$/);
    expect(JSON.parse(quietMetric.out[0]!).condition).toMatchObject({ kind: 'NO_DATA', metric: 'pressure', seconds: 120 });
    expect(disabled.out[0]).toMatch(/ DISABLED +HIGH /);
    expect(enabled.out[0]).toMatch(/ NORMAL +HIGH .*enabled \(iotctl\)/);
    expect(snoozed.out[0]).toMatch(/SNOOZE_DISABLED.*snoozed for 60 s \(.+: "pump swap"\), snoozed until /);
    expect(refusedAck).toMatchObject({ code: 1, err: [expect.stringMatching(/^iotctl alarm ack: Conflict: Alarm .* is SNOOZE_DISABLED: only ACTIVE or LATCHED/)] });
    expect((JSON.parse(alarms.out[0]!) as { id: string }[]).map((a) => a.id)).toEqual([alarmId]);
    expect(deleted.out[0]).toMatch(/^deleted /);
    expect(JSON.parse(afterDelete.out[0]!)).toEqual([]);
  });

  it.each([
    [['rule', 'create', '--name', 'x', '--severity', 'LOW', '--metric', 'm', '--op', '>', '--threshold', '1'], /exactly one target/],
    [['rule', 'create', '--name', 'x', '--severity', 'LOW', '--all', '--metric', 'm', '--op', '=>', '--threshold', '1'], /use one of > >= < <= == !=/],
    [['rule', 'create', '--name', 'x', '--severity', 'LOW', '--all', '--metric', 'm', '--op', '>', '--threshold', '1', '--clear', '5'], /ValidationError: condition.clearThreshold \(5\) is on the wrong side/],
    [['rule', 'create', '--name', 'x', '--severity', 'LOW', '--all', '--silent-for', '1'], /ValidationError: condition.seconds must be a whole number of seconds from 10/],
    [['ack', 'not-an-alarm'], /ValidationError: id must be an alarm id/],
    [['rule', 'create', '--name', 'x', '--severity', 'LOW', '--all', '--metric', 'm', '--op', '>', '--threshold', '1', '--command-payload', '{}'], /need --command <name>/],
    [['rule', 'create', '--name', 'x', '--severity', 'LOW', '--all', '--metric', 'm', '--op', '>', '--threshold', '1', '--command', 'BAD'], /ValidationError: command.name must be/],
    [['rule', 'create', '--name', 'x', '--severity', 'LOW', '--all', '--metric', 'm', '--op', '>', '--threshold', '1', '--command', 'ok', '--command-on', 'ACTIVE,LOUD'], /"LOUD" does not exist in "AlarmState"/],
  ])('refuses %j with a clear error', async (args, message) => {
    const result = await run(args);
    expect(result.out).toEqual([]);
    expect(result.err.join('\n')).toMatch(message);
  });
});
