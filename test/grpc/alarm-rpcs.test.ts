import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newClient, startTestServer, type TestServer } from './helpers.js';

type AnyClient = Record<string, (...args: unknown[]) => unknown>;

/** One unary alarm RPC; resolves with { error, response }. */
function rpc(client: unknown, method: string, request: unknown): Promise<{ error: grpc.ServiceError | null; response: any }> {
  return new Promise((resolve) => {
    (client as AnyClient)[method]!.call(client, request, (error: grpc.ServiceError | null, response: unknown) => resolve({ error, response }));
  });
}

describe('DeviceService alarm RPCs', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  const rule = {
    name: 'hot',
    severity: 'ALARM_SEVERITY_HIGH',
    allDevices: true,
    threshold: { metric: 'temperature', operator: 'COMPARISON_OPERATOR_GT', threshold: 30, clearThreshold: 28, forSeconds: 300 },
  };

  it('creates, reads, lists, updates with a version check and deletes a rule', async () => {
    // Act
    const created = await rpc(t.client, 'CreateAlarmRule', { rule });
    const id = created.response.id as string;
    const got = await rpc(t.client, 'GetAlarmRule', { id });
    const listed = await rpc(t.client, 'ListAlarmRules', {});
    const updated = await rpc(t.client, 'UpdateAlarmRule', { rule: { ...rule, id, version: 1, name: 'hotter', noData: undefined } });
    const stale = await rpc(t.client, 'UpdateAlarmRule', { rule: { ...rule, id, version: 1 } });
    const v1 = await rpc(t.client, 'GetAlarmRule', { id, version: 1 });
    const deleted = await rpc(t.client, 'DeleteAlarmRule', { id });
    const gone = await rpc(t.client, 'GetAlarmRule', { id });

    // Assess
    expect(created.error).toBeNull();
    expect(created.response).toMatchObject({ name: 'hot', severity: 'ALARM_SEVERITY_HIGH', allDevices: true, target: 'allDevices', condition: 'threshold', version: '1', ackRequired: true, notify: true });
    expect(created.response.threshold).toMatchObject({ metric: 'temperature', operator: 'COMPARISON_OPERATOR_GT', threshold: 30, clearThreshold: 28, forSeconds: 300 });
    expect(got.response.id).toBe(id);
    expect(listed.response.rules.map((r: { id: string }) => r.id)).toContain(id);
    expect(updated.response).toMatchObject({ name: 'hotter', version: '2' });
    expect(stale.error?.code).toBe(grpc.status.ABORTED);
    expect(v1.response).toMatchObject({ name: 'hot', version: '1' });
    expect(deleted.response.name).toBe('hotter');
    expect(gone.error?.code).toBe(grpc.status.NOT_FOUND);
  });

  it('round-trips a command action and a per-metric no-data condition', async () => {
    // Prepare
    const withCommand = { ...rule, command: { name: 'shut_off', payloadJson: '{"valve":"closed"}', timeoutSeconds: 30, onStates: ['ALARM_STATE_ACTIVE', 'ALARM_STATE_LATCHED'] } };
    const perMetric = { name: 'no pressure', severity: 'ALARM_SEVERITY_LOW', allDevices: true, noData: { seconds: 120, metric: 'pressure' } };

    // Act
    const created = await rpc(t.client, 'CreateAlarmRule', { rule: withCommand });
    const silent = await rpc(t.client, 'CreateAlarmRule', { rule: perMetric });
    const defaults = await rpc(t.client, 'CreateAlarmRule', { rule: { ...rule, command: { name: 'beep' } } });

    // Assess
    expect(created.error).toBeNull();
    expect(created.response.command).toEqual({ name: 'shut_off', payloadJson: '{"valve":"closed"}', timeoutSeconds: 30, onStates: ['ALARM_STATE_ACTIVE', 'ALARM_STATE_LATCHED'] });
    expect(silent.response.noData).toEqual({ seconds: 120, metric: 'pressure' });
    expect(defaults.response.command).toEqual({ name: 'beep', payloadJson: '{}', timeoutSeconds: 60, onStates: ['ALARM_STATE_ACTIVE'] });
  });

  it.each([
    [{ rule: { ...rule, threshold: { ...rule.threshold, clearThreshold: 35 } } }, /condition.clearThreshold \(35\) is on the wrong side/],
    [{ rule: { ...rule, threshold: { ...rule.threshold, metric: '1bad' } } }, /condition.metric must be a metric name/],
    [{ rule: { ...rule, severity: 'ALARM_SEVERITY_UNSPECIFIED' } }, /severity must be one of/],
    [{ rule: { name: 'x', severity: 'ALARM_SEVERITY_LOW', threshold: rule.threshold } }, /target must be an object/],
    [{ rule: { ...rule, threshold: undefined, noData: { seconds: 3 } } }, /condition.seconds must be a whole number of seconds from 10/],
    [{ rule: { ...rule, command: { name: 'Shut Off' } } }, /command.name must be 1-64 characters/],
    [{ rule: { ...rule, command: { name: 'ok', payloadJson: '{' } } }, /command.payload/],
    [{ rule: { ...rule, command: { name: 'ok', onStates: ['ALARM_STATE_UNSPECIFIED'] } } }, /command.onStates must be one of/],
    [{ rule: { ...rule, threshold: undefined, noData: { seconds: 60, metric: '9lives' } } }, /condition.metric must be a metric name/],
    [{}, /rule is required/],
  ])('refuses a bad rule with INVALID_ARGUMENT naming the broken rule (%#)', async (request, message) => {
    const { error } = await rpc(t.client, 'CreateAlarmRule', request);
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(message);
  });

  it('follows the state model for actions and answers moves it lacks with ABORTED', async () => {
    // Prepare
    const device = (await rpc(t.client, 'CreateDevice', { device: { name: 'pump', type: 'pump' } })).response;
    const id = (await rpc(t.client, 'CreateAlarmRule', { rule })).response.id as string;
    const alarmId = `${id}.${device.id}`;

    // Act
    const ack = await rpc(t.client, 'AcknowledgeAlarm', { id: alarmId, note: 'n/a' });
    const badSnooze = await rpc(t.client, 'SnoozeAlarm', { id: alarmId, seconds: 0 });
    const disabled = await rpc(t.client, 'DisableAlarm', { id: alarmId });
    const enabled = await rpc(t.client, 'EnableAlarm', { id: alarmId });
    const snoozed = await rpc(t.client, 'SnoozeAlarm', { id: alarmId, seconds: 60, note: 'pump swap' });
    const alarm = await rpc(t.client, 'GetAlarm', { id: alarmId, historyPageSize: 2 });
    const next = await rpc(t.client, 'GetAlarm', { id: alarmId, historyPageSize: 2, historyPageToken: alarm.response.nextHistoryPageToken });
    const list = await rpc(t.client, 'ListAlarms', { state: 'ALARM_STATE_SNOOZE_DISABLED', deviceId: device.id });
    const unknown = await rpc(t.client, 'DisableAlarm', { id: `${id}.00000000-0000-4000-8000-000000000000` });
    const malformed = await rpc(t.client, 'DisableAlarm', { id: 'nope' });

    // Assess
    expect(ack.error?.code).toBe(grpc.status.ABORTED);
    expect(badSnooze.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(disabled.response).toMatchObject({ state: 'ALARM_STATE_DISABLED', rev: '1' });
    expect(enabled.response).toMatchObject({ state: 'ALARM_STATE_NORMAL', rev: '2' });
    expect(snoozed.response).toMatchObject({ state: 'ALARM_STATE_SNOOZE_DISABLED', rev: '3' });
    expect(snoozed.response.lastTransition.actor).not.toBe('');
    expect(snoozed.response.lastTransition.note).toBe('pump swap');
    expect(alarm.response.alarm.id).toBe(alarmId);
    expect(list.response.alarms.map((a: { id: string }) => a.id)).toEqual([alarmId]);
    expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(malformed.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    // History is written by the stream consumer, which this in-memory server does not run.
    expect(next.error).toBeNull();
  });

  it('lets a viewer read alarms but not change them, and reports ACTIVE alarms by severity in the stats', async () => {
    const viewer = newClient(t.server.address, { as: 'viewer' });
    try {
      const write = await rpc(viewer, 'CreateAlarmRule', { rule });
      const read = await rpc(viewer, 'ListAlarms', {});
      const stats = await rpc(viewer, 'GetDeviceStats', {});
      expect(write.error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(read.error).toBeNull();
      expect(stats.response.activeAlarmsBySeverity).toEqual({ CRITICAL: '0', HIGH: '0', MEDIUM: '0', LOW: '0', INFO: '0' });
    } finally {
      viewer.close();
    }
  });
});
