import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphqlHarness, type GraphqlHarness } from './helpers.js';

const RULE = 'id name version severity latch ackRequired notify target { kind deviceId deviceType } condition { kind metric operator threshold clearThreshold forSeconds consecutive seconds }';
const CREATE = `mutation C($input: AlarmRuleInput!) { createAlarmRule(input: $input) { ${RULE} } }`;
const UPDATE = `mutation U($id: ID!, $input: AlarmRuleInput!, $v: Int) { updateAlarmRule(id: $id, input: $input, expectedVersion: $v) { ${RULE} } }`;
const input = {
  name: 'hot',
  severity: 'HIGH',
  target: { kind: 'ALL' },
  condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, forSeconds: 300 },
};

describe('GraphQL alarms', () => {
  let h: GraphqlHarness;
  beforeAll(async () => {
    h = await startGraphqlHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('creates, versions, lists and deletes rules as admin', async () => {
    // Act
    const created = (await h.gql(CREATE, { input })).data!.createAlarmRule;
    const updated = await h.gql(UPDATE, { id: created.id, input: { ...input, name: 'hotter' }, v: 1 });
    const stale = await h.gql(UPDATE, { id: created.id, input, v: 1 });
    const first = await h.gql('query R($id: ID!) { alarmRule(id: $id, version: 1) { name version } }', { id: created.id }, h.viewerToken);
    const listed = await h.gql(`{ alarmRules { ${RULE} } }`, {}, h.viewerToken);
    const deleted = await h.gql('mutation D($id: ID!) { deleteAlarmRule(id: $id) { id name } }', { id: created.id });
    const gone = await h.gql('query R($id: ID!) { alarmRule(id: $id) { id } }', { id: created.id });

    // Assess
    expect(created).toMatchObject({ version: 1, latch: false, ackRequired: true, notify: true, target: { kind: 'ALL', deviceId: null }, condition: { clearThreshold: 28, forSeconds: 300, consecutive: null } });
    expect(updated.data!.updateAlarmRule).toMatchObject({ name: 'hotter', version: 2 });
    expect(stale.errors?.[0]?.errorType).toBe('Conflict');
    expect(first.data!.alarmRule).toEqual({ name: 'hot', version: 1 });
    expect(listed.data!.alarmRules.map((r: { id: string }) => r.id)).toContain(created.id);
    expect(deleted.data!.deleteAlarmRule.name).toBe('hotter');
    expect(gone.errors?.[0]?.errorType).toBe('NotFound');
  });

  it.each([
    [{ ...input, condition: { ...input.condition, clearThreshold: 31 } }, /condition.clearThreshold \(31\) is on the wrong side/],
    [{ ...input, condition: { ...input.condition, metric: 'temp erature' } }, /condition.metric must be a metric name/],
    [{ ...input, condition: { ...input.condition, forSeconds: 100_000 } }, /condition.forSeconds must be a whole number of seconds from 1 to 86400/],
    [{ ...input, condition: { kind: 'THRESHOLD', metric: 'temperature', threshold: 1 } }, /condition.operator must be one of/],
    [{ ...input, target: { kind: 'DEVICE' } }, /target.deviceId must be a string UUID/],
    [{ ...input, latch: true, ackRequired: false }, /latch needs ackRequired/],
  ])('refuses a bad rule with a ValidationError naming what is wrong (%#)', async (bad, message) => {
    const result = await h.gql(CREATE, { input: bad });
    expect(result.errors?.[0]?.errorType).toBe('ValidationError');
    expect(result.errors?.[0]?.message).toMatch(message);
    expect(result.data).toBeNull();
  });

  it('lets viewers read and refuses them every write', async () => {
    const created = (await h.gql(CREATE, { input })).data!.createAlarmRule;
    const device = (await h.gql('mutation { createDevice(input: { name: "pump", type: "pump" }) { id } }')).data!.createDevice;
    const alarmId = `${created.id}.${device.id}`;
    const asViewer = await h.gql(CREATE, { input }, h.viewerToken);
    const ack = await h.gql('mutation A($id: ID!) { acknowledgeAlarm(id: $id) { id } }', { id: alarmId }, h.viewerToken);
    const read = await h.gql('{ alarms(filter: { state: ACTIVE }) { items { id } nextToken } stats { activeAlarms { severity count } } }', {}, h.viewerToken);
    expect(asViewer.errors?.[0]?.errorType).toBe('Unauthorized');
    expect(ack.errors?.[0]?.errorType).toBe('Unauthorized');
    expect(read.errors).toBeUndefined();
    expect(read.data!.stats.activeAlarms).toEqual(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'].map((severity) => ({ severity, count: 0 })));
  });

  it('answers actions the state model lacks with Conflict, bad ids and snoozes with ValidationError', async () => {
    const created = (await h.gql(CREATE, { input })).data!.createAlarmRule;
    const device = (await h.gql('mutation { createDevice(input: { name: "fan", type: "fan" }) { id } }')).data!.createDevice;
    const alarmId = `${created.id}.${device.id}`;
    const ack = await h.gql('mutation A($id: ID!) { acknowledgeAlarm(id: $id) { id } }', { id: alarmId });
    const enable = await h.gql('mutation E($id: ID!) { enableAlarm(id: $id) { id } }', { id: alarmId });
    const snooze = await h.gql('mutation S($id: ID!) { snoozeAlarm(id: $id, seconds: 0) { id } }', { id: alarmId });
    const badId = await h.gql('query A($id: ID!) { alarm(id: $id) { id } }', { id: 'no-such-alarm' });
    const disabled = await h.gql('mutation D($id: ID!) { disableAlarm(id: $id) { id state rev lastTransition { actor } } }', { id: alarmId });
    const device2 = await h.gql('query G($id: ID!) { device(id: $id) { alarms { id state } } }', { id: device.id });
    const page = await h.gql('query L($t: String) { alarms(filter: { state: DISABLED }, nextToken: $t) { items { id } } }', { t: 'forged' });
    expect(ack.errors?.[0]).toMatchObject({ errorType: 'Conflict', message: expect.stringMatching(/NORMAL: only ACTIVE or LATCHED/) });
    expect(enable.errors?.[0]?.errorType).toBe('Conflict');
    expect(snooze.errors?.[0]?.errorType).toBe('ValidationError');
    expect(badId.errors?.[0]?.errorType).toBe('ValidationError');
    expect(disabled.data!.disableAlarm).toMatchObject({ id: alarmId, state: 'DISABLED', rev: 1, lastTransition: { actor: 'alice' } });
    expect(device2.data!.device.alarms).toEqual([{ id: alarmId, state: 'DISABLED' }]);
    expect(page.errors?.[0]?.errorType).toBe('ValidationError');
  });
});
