import { describe, expect, it } from 'vitest';
import { InMemoryAlarmStore } from '../../src/adapters/memory/in-memory-alarm-store.js';
import { AlarmEvaluation } from '../../src/alarms/alarm-evaluation.js';
import { applyAction } from '../../src/alarms/alarm-state.js';
import { CachedRules } from '../../src/alarms/rule-cache.js';
import { DEVICE_ID, T0, temp, testRule } from './alarm-fixtures.js';

/** The in-memory store, counting the device Queries the evaluator makes. */
async function setup() {
  const store = new InMemoryAlarmStore();
  const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28 } });
  await store.createRule(rule);
  let queries = 0;
  const counted = Object.assign(Object.create(store) as InMemoryAlarmStore, {
    deviceInstances: (id: string) => {
      queries += 1;
      return store.deviceInstances(id);
    },
  });
  let clock = T0;
  const evaluation = () => new AlarmEvaluation({ store: counted, rules: new CachedRules(store, 60_000, () => clock), deviceType: async () => 'sensor', now: () => clock });
  return { store, rule, evaluation, queries: () => queries, tick: (ms: number) => (clock += ms) };
}

describe('AlarmEvaluation', () => {
  it('writes each transition once and reads a device\'s alarms once per cache period', async () => {
    // Prepare
    const { store, evaluation, queries, tick } = await setup();
    const alarms = evaluation();

    // Act
    const fired = await alarms.evaluate(DEVICE_ID, [temp(0, 31)]);
    tick(60_000);
    const same = await alarms.evaluate(DEVICE_ID, [temp(60, 32)]);
    tick(60_000);
    const cleared = await alarms.evaluate(DEVICE_ID, [temp(120, 20)]);

    // Assess
    expect([fired.transitions, same.transitions, cleared.transitions]).toEqual([1, 0, 1]);
    expect(queries()).toBe(1);
    expect((await store.deviceInstances(DEVICE_ID)).map((i) => [i.state, i.rev])).toEqual([['NORMAL', 2]]);
  });

  it('re-evaluates from the stored alarm when an operator acted in between, without a wrong transition', async () => {
    const { store, rule, evaluation, tick } = await setup();
    const alarms = evaluation();
    await alarms.evaluate(DEVICE_ID, [temp(0, 31)]);
    const active = (await store.getInstance(rule.id, DEVICE_ID))!;
    await store.writeTransition(applyAction(active, rule, { kind: 'ACKNOWLEDGE' }, 'ops', T0 + 10_000));
    tick(60_000);

    const result = await alarms.evaluate(DEVICE_ID, [temp(60, 20)]);

    expect(result).toMatchObject({ transitions: 1, conflicts: 1 });
    const stored = (await store.getInstance(rule.id, DEVICE_ID))!;
    expect(stored.last).toMatchObject({ from: 'ACKNOWLEDGED', to: 'NORMAL', rev: 3 });
  });

  it('makes no transition when a new process gets a batch redelivered', async () => {
    const { store, rule, evaluation } = await setup();
    await evaluation().evaluate(DEVICE_ID, [temp(0, 29), temp(10, 31)]);

    const again = await evaluation().evaluate(DEVICE_ID, [temp(0, 29), temp(10, 31), temp(5, 10)]);

    expect(again.transitions).toBe(0);
    expect((await store.getInstance(rule.id, DEVICE_ID))!.rev).toBe(1);
  });

  it('skips devices no rule targets without reading their alarms', async () => {
    const store = new InMemoryAlarmStore();
    await store.createRule(testRule({ target: { kind: 'DEVICE_TYPE', deviceType: 'pump' } }));
    let reads = 0;
    const alarms = new AlarmEvaluation({
      store: {
        deviceAlarmState: async () => ((reads += 1), { instances: [], pending: [] }),
        getInstance: store.getInstance.bind(store),
        writeTransition: store.writeTransition.bind(store),
        putPending: store.putPending.bind(store),
        deletePending: store.deletePending.bind(store),
      },
      rules: new CachedRules(store),
      deviceType: async () => 'sensor',
    });
    expect(await alarms.evaluate(DEVICE_ID, [temp(0, 99)])).toEqual({ rules: 0, transitions: 0, conflicts: 0, lateSkipped: 0 });
    expect(reads).toBe(0);
  });

  it('resumes a long pending duration in a new process instead of restarting it, writing only when the run gets long and when it breaks', async () => {
    // Prepare: > 30 for 300 s; readings every 10 s from t=0; the first process sees 0..120 s
    const store = new InMemoryAlarmStore();
    const rule = testRule();
    await store.createRule(rule);
    const clock = T0 + 3_600_000;
    const process = () => new AlarmEvaluation({ store, rules: new CachedRules(store), deviceType: async () => 'boiler', now: () => clock });
    const readings = (from: number, to: number, value = 31) => Array.from({ length: (to - from) / 10 + 1 }, (_, i) => temp(from + i * 10, value));
    const first = process();
    await first.evaluate(DEVICE_ID, readings(0, 50));
    const beforeLong = (await store.deviceAlarmState(DEVICE_ID)).pending;
    await first.evaluate(DEVICE_ID, readings(60, 120));
    const marker = (await store.deviceAlarmState(DEVICE_ID)).pending;

    // Act: a new process (a cold start) takes over at 130 s
    const second = process();
    const quiet = await second.evaluate(DEVICE_ID, readings(130, 290));
    const fired = await second.evaluate(DEVICE_ID, readings(300, 310));
    const afterFire = (await store.deviceAlarmState(DEVICE_ID)).pending;

    // Assess: the duration counted from t=0 across the two processes: ACTIVE at t=300, not t=430
    expect(beforeLong).toEqual([]);
    expect(marker).toEqual([{ ruleId: rule.id, ruleVersion: 1, since: T0, at: T0 + 120_000 }]);
    expect(quiet.transitions).toBe(0);
    expect(fired.transitions).toBe(1);
    expect((await store.getInstance(rule.id, DEVICE_ID))!.last).toMatchObject({ to: 'ACTIVE', eventTime: T0 + 300_000 });
    expect(afterFire).toEqual([]);
  });

  it('forgets a stored pending run when the run breaks, so a later process does not resume it', async () => {
    // Prepare
    const store = new InMemoryAlarmStore();
    const rule = testRule();
    await store.createRule(rule);
    const process = () => new AlarmEvaluation({ store, rules: new CachedRules(store), deviceType: async () => 'boiler' });
    const first = process();
    await first.evaluate(DEVICE_ID, [0, 30, 60, 90].map((s) => temp(s, 31)));
    const stored = (await store.deviceAlarmState(DEVICE_ID)).pending.length;

    // Act: the run breaks at t=100; a new process sees 110..400 above 30
    await first.evaluate(DEVICE_ID, [temp(100, 25)]);
    const second = process();
    const result = await second.evaluate(DEVICE_ID, [110, 200, 300, 400].map((s) => temp(s, 31)));

    // Assess: no resume from t=0 (that would fire at t=300); the new run starts at 110 and fires at 410 at the earliest
    expect(stored).toBe(1);
    expect((await store.deviceAlarmState(DEVICE_ID)).pending).toEqual([{ ruleId: rule.id, ruleVersion: 1, since: T0 + 110_000, at: T0 + 400_000 }]);
    expect(result.transitions).toBe(0);
  });
});
