/** One behaviour, two implementations: every case runs against the in-memory and the DynamoDB (dynalite) alarm store. */
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { InMemoryAlarmStore } from '../../src/adapters/memory/in-memory-alarm-store.js';
import { ALARMS_TABLE } from '../../src/contracts/tables.js';
import type { AlarmStore } from '../../src/alarms/alarm-store.js';
import { applyAction, applyTransition, normalInstance, SYSTEM_ACTOR, type AlarmInstance } from '../../src/alarms/alarm-state.js';
import type { AlarmRule } from '../../src/alarms/alarm-rule.js';
import { AlreadyExistsError, ConflictError } from '../../src/domain/errors.js';
import { ensureTables, localTableNames } from '../../src/local/dynamodb/dynalite.js';
import { testRule } from '../alarms/alarm-fixtures.js';
import { useLocalDynamo } from '../support/local-dynamo.js';

const dynamo = useLocalDynamo();
let tables = 0;

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const at = (s: number) => new Date(Date.parse('2026-11-29T08:00:00.000Z') + s * 1000).toISOString();

function activate(rule: AlarmRule, deviceId: string, s: number): AlarmInstance {
  return applyTransition(normalInstance(rule, deviceId, at(0)), rule, 'ACTIVE', { at: at(s), reason: 'hot', actor: SYSTEM_ACTOR, eventTime: Date.parse(at(s)), value: 31 });
}

const implementations: [string, () => Promise<AlarmStore>][] = [
  ['InMemoryAlarmStore', async () => new InMemoryAlarmStore()],
  [
    'DynamoDbAlarmStore',
    async () => {
      const names = localTableNames(`alarms${tables++}-`, [ALARMS_TABLE]);
      await ensureTables(dynamo.endpoint, names, [ALARMS_TABLE]);
      return new DynamoDbAlarmStore(dynamo.doc, names.Alarms!);
    },
  ],
];

describe.each(implementations)('%s', (_name, open) => {
  let store: AlarmStore;
  beforeAll(async () => {
    store = await open();
  });

  it('creates, versions, updates with a version check and deletes rules', async () => {
    // Prepare
    const rule = testRule({ id: uuid(1) });
    // Act
    await store.createRule(rule);
    await expect(store.createRule(rule)).rejects.toBeInstanceOf(AlreadyExistsError);
    const v2 = { ...rule, name: 'hotter', version: 2 };
    await store.updateRule(v2, 1);
    await expect(store.updateRule({ ...rule, version: 2 }, 1)).rejects.toBeInstanceOf(ConflictError);
    // Assess
    expect(await store.getRule(rule.id)).toEqual(v2);
    expect(await store.getRuleVersion(rule.id, 1)).toEqual(rule);
    expect(await store.getRuleVersion(rule.id, 2)).toEqual(v2);
    expect((await store.listRules()).map((r) => r.id)).toContain(rule.id);
    await store.writeTransition(activate(v2, uuid(900), 1));
    expect(await store.deleteRule(rule.id)).toEqual(v2);
    expect(await store.getRule(rule.id)).toBeUndefined();
    expect(await store.getInstance(rule.id, uuid(900))).toBeUndefined();
    expect(await store.deleteRule(rule.id)).toBeUndefined();
  });

  it('writes a transition only over the revision it replaces', async () => {
    const rule = testRule({ id: uuid(2) });
    const first = activate(rule, uuid(100), 10);
    expect(await store.writeTransition(first)).toBe(true);
    expect(await store.writeTransition(first)).toBe(false);
    const acked = applyAction(first, rule, { kind: 'ACKNOWLEDGE' }, 'ops', Date.parse(at(20)));
    expect(await store.writeTransition(acked)).toBe(true);
    const stale = applyAction(first, rule, { kind: 'DISABLE' }, 'ops', Date.parse(at(21)));
    expect(await store.writeTransition(stale)).toBe(false);
    expect(await store.getInstance(rule.id, uuid(100), true)).toEqual(acked);
    expect(await store.deviceInstances(uuid(100), true)).toEqual([acked]);
  });

  it('lists alarms by state, severity, device and rule with paging', async () => {
    // Prepare: rule 3 (HIGH) on 5 devices, 2 of them acknowledged; rule 4 (LOW) on device 201
    const high = testRule({ id: uuid(3), severity: 'HIGH' });
    const low = testRule({ id: uuid(4), severity: 'LOW' });
    for (let d = 201; d <= 205; d += 1) {
      const active = activate(high, uuid(d), d);
      expect(await store.writeTransition(active)).toBe(true);
      if (d <= 202) expect(await store.writeTransition(applyAction(active, high, { kind: 'ACKNOWLEDGE' }, 'ops', Date.parse(at(d + 1))))).toBe(true);
    }
    await store.writeTransition(activate(low, uuid(201), 300));
    // Act
    const pages: string[][] = [];
    let cursor;
    do {
      const page = await store.listAlarms({ state: 'ACTIVE', severity: 'HIGH' }, 2, cursor);
      pages.push(page.items.map((i) => i.deviceId));
      cursor = page.cursor;
    } while (cursor);
    // Assess: newest change first
    expect(pages.flat()).toEqual([uuid(205), uuid(204), uuid(203)]);
    expect((await store.listAlarms({ deviceId: uuid(201) }, 10)).items.map((i) => i.severity).sort()).toEqual(['HIGH', 'LOW']);
    expect((await store.listAlarms({ deviceId: uuid(201), state: 'ACTIVE' }, 10)).items.map((i) => i.ruleId)).toEqual([low.id]);
    expect((await store.listAlarms({ ruleId: high.id, state: 'ACKNOWLEDGED' }, 10)).items.map((i) => i.deviceId)).toEqual([uuid(201), uuid(202)]);
    expect((await store.listAlarms({ severity: 'LOW' }, 10)).items.map((i) => i.id)).toContain(`${low.id}.${uuid(201)}`);
    const counts = await store.activeBySeverity();
    expect(counts.HIGH).toBe(3);
    expect(counts.LOW).toBe(1);
    expect(counts.CRITICAL).toBe(0);
  });

  it('pages history newest first and records a redelivered transition once', async () => {
    const rule = testRule({ id: uuid(5) });
    let instance = activate(rule, uuid(300), 1);
    await store.appendHistory(instance.last);
    instance = applyAction(instance, rule, { kind: 'ACKNOWLEDGE', note: 'on it' }, 'ops', Date.parse(at(2)));
    await store.appendHistory(instance.last);
    await store.appendHistory(instance.last);
    instance = applyTransition(instance, rule, 'NORMAL', { at: at(3), reason: 'cool', actor: SYSTEM_ACTOR });
    await store.appendHistory(instance.last);
    const first = await store.history(instance.id, 2);
    expect(first.items.map((t) => t.rev)).toEqual([3, 2]);
    expect(first.items[1]).toMatchObject({ to: 'ACKNOWLEDGED', actor: 'ops', note: 'on it' });
    const second = await store.history(instance.id, 2, first.cursor);
    expect(second.items.map((t) => t.rev)).toEqual([1]);
    expect(second.cursor).toBeUndefined();
    // History items never appear among a rule's instances.
    expect((await store.ruleInstances(rule.id, 10)).items).toEqual([]);
  });

  it('keeps pending runs beside a device\'s alarms, read with them, out of every alarm listing', async () => {
    // Prepare
    const rule = testRule({ id: uuid(60) });
    const other = testRule({ id: uuid(61) });
    const device = uuid(960);
    await store.createRule(rule);
    await store.writeTransition(activate(rule, device, 5));

    // Act
    await store.putPending(device, { ruleId: other.id, ruleVersion: 2, since: 1_000, at: 61_000 });
    await store.putPending(device, { ruleId: other.id, ruleVersion: 2, since: 1_000, at: 90_000 });
    const both = await store.deviceAlarmState(device);
    const listed = await store.listAlarms({ deviceId: device }, 10);
    const byRule = await store.ruleInstances(other.id, 10);
    const instances = await store.deviceInstances(device);
    await store.deletePending(device, other.id);
    await store.deletePending(device, other.id);
    const after = await store.deviceAlarmState(device);

    // Assess
    expect(both.pending).toEqual([{ ruleId: other.id, ruleVersion: 2, since: 1_000, at: 90_000 }]);
    expect(both.instances.map((i) => i.id)).toEqual([`${rule.id}.${device}`]);
    expect(listed.items.map((i) => i.id)).toEqual([`${rule.id}.${device}`]);
    expect(byRule.items).toEqual([]);
    expect(instances.map((i) => i.id)).toEqual([`${rule.id}.${device}`]);
    expect(after).toEqual({ instances: both.instances, pending: [] });
  });

  it('finds ended snoozes through the index', async () => {
    const rule = testRule({ id: uuid(6) });
    const snoozed = applyAction(normalInstance(rule, uuid(400), at(0)), rule, { kind: 'SNOOZE', seconds: 60 }, 'ops', Date.parse(at(0)));
    await store.writeTransition(snoozed);
    expect(await store.endedSnoozes(Date.parse(at(59)), 10)).toEqual([]);
    expect(await store.endedSnoozes(Date.parse(at(60)), 10)).toEqual([{ ruleId: rule.id, deviceId: uuid(400) }]);
    await store.writeTransition(applyTransition(snoozed, rule, 'NORMAL', { at: at(61), reason: 'snooze ended', actor: SYSTEM_ACTOR }));
    expect(await store.endedSnoozes(Date.parse(at(120)), 10)).toEqual([]);
  });
});
