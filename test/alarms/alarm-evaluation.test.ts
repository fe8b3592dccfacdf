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
      store: { ...store, deviceInstances: async () => ((reads += 1), []), getInstance: store.getInstance.bind(store), writeTransition: store.writeTransition.bind(store) },
      rules: new CachedRules(store),
      deviceType: async () => 'sensor',
    });
    expect(await alarms.evaluate(DEVICE_ID, [temp(0, 99)])).toEqual({ rules: 0, transitions: 0, conflicts: 0, lateSkipped: 0 });
    expect(reads).toBe(0);
  });
});
