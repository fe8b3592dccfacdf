import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateReadings, evaluateSilence, freshProgress, type AlarmReading, type EvaluationProgress } from '../../src/alarms/alarm-evaluator.js';
import { applyAction, normalInstance, validateAction, type AlarmInstance } from '../../src/alarms/alarm-state.js';
import { compare, type AlarmRule } from '../../src/alarms/alarm-rule.js';
import { DEVICE_ID, T0, temp, testRule } from './alarm-fixtures.js';

const NOW = T0 + 3_600_000;
const fresh = (rule: AlarmRule) => normalInstance(rule, DEVICE_ID, new Date(T0).toISOString());

/**
 * Feeds batches in order, carrying instance and progress as the ingest path does; returns every
 * transition as from→to@ts, and the keys of the readings evaluated (delivered and not skipped).
 */
function run(rule: AlarmRule, batches: readonly (readonly AlarmReading[])[], start: AlarmInstance = fresh(rule), initial?: EvaluationProgress) {
  let instance = start;
  let progress: EvaluationProgress | undefined = initial;
  const moves: string[] = [];
  const evaluated = new Set<string>();
  for (const batch of batches) {
    const result = evaluateReadings(rule, instance, progress, batch, NOW);
    instance = result.instance;
    progress = result.progress;
    for (const t of result.transitions) moves.push(`${t.last.from}->${t.last.to}@${t.last.eventTime === undefined ? '' : (t.last.eventTime - T0) / 1000}`);
    const skipped = new Set(result.skipped.map(key));
    for (const r of batch) if (!skipped.has(key(r))) evaluated.add(key(r));
  }
  return { instance, moves, evaluated };
}

const key = (r: AlarmReading) => `${r.ts}#${r.seq}`;

describe('evaluateReadings', () => {
  it('fires once when the threshold holds for the duration, not before', () => {
    // Prepare: above 30 from t=0 s; 300 s are reached at t=300
    const readings = [0, 10, 100, 290, 300, 310, 400].map((s) => temp(s, 31));
    // Act
    const { moves, instance } = run(testRule(), [readings.slice(0, 4), readings.slice(4)]);
    // Assess
    expect(moves).toEqual(['NORMAL->ACTIVE@300']);
    expect(instance.state).toBe('ACTIVE');
    expect(instance.last.value).toBe(31);
    expect(instance.last.reason).toBe('temperature > 30 for 300 s: temperature = 31');
  });

  it('restarts the duration when a reading breaks the run', () => {
    const readings = [temp(0, 31), temp(200, 29.5), temp(210, 31), temp(500, 31), temp(510, 31)];
    expect(run(testRule(), [readings]).moves).toEqual(['NORMAL->ACTIVE@510']);
  });

  it('does not flap inside the hysteresis band and clears below the clear threshold', () => {
    const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, consecutive: 1 } });
    const hover = [30.5, 29.9, 30.1, 29.5, 30.2, 28.1, 30.4, 28.0].map((v, i) => temp(i * 10, v));
    const { moves } = run(rule, [hover, [temp(100, 27.9)]]);
    expect(moves).toEqual(['NORMAL->ACTIVE@0', 'ACTIVE->NORMAL@100']);
  });

  it('latches after clearing until acknowledged, and fires again from LATCHED', () => {
    const rule = testRule({ latch: true, condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28 } });
    const first = run(rule, [[temp(0, 31), temp(10, 27)]]);
    expect(first.moves).toEqual(['NORMAL->ACTIVE@0', 'ACTIVE->LATCHED@10']);
    const again = run(rule, [[temp(20, 35)]], first.instance);
    expect(again.moves).toEqual(['LATCHED->ACTIVE@20']);
    const acked = applyAction(first.instance, rule, { kind: 'ACKNOWLEDGE', note: 'seen' }, 'ops', NOW);
    expect(acked.state).toBe('NORMAL');
    expect(acked.last).toMatchObject({ from: 'LATCHED', to: 'NORMAL', actor: 'ops', note: 'seen', rev: 3 });
  });

  it('clears an acknowledged alarm to NORMAL even when latched', () => {
    const rule = testRule({ latch: true, condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GE', threshold: 30 } });
    const active = run(rule, [[temp(0, 30)]]).instance;
    const acked = applyAction(active, rule, { kind: 'ACKNOWLEDGE' }, 'ops', NOW);
    expect(run(rule, [[temp(10, 29)]], acked).moves).toEqual(['ACKNOWLEDGED->NORMAL@10']);
  });

  it('counts consecutive readings and ignores other metrics and non-numbers', () => {
    const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'LT', threshold: 0, consecutive: 3 } });
    const readings: AlarmReading[] = [
      temp(0, -1),
      { ts: T0 + 5_000, seq: 5, metrics: { humidity: 50 } },
      temp(10, -2),
      { ts: T0 + 15_000, seq: 15, metrics: { temperature: 'cold' } },
      temp(20, -3),
    ];
    expect(run(rule, [readings]).moves).toEqual(['NORMAL->ACTIVE@20']);
  });

  it('ignores redelivered and late readings after a transition, even without progress in memory', () => {
    const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30 } });
    const active = run(rule, [[temp(0, 29), temp(10, 31)]]).instance;
    // A new process: no progress, only the stored instance (evaluatedTs = t10).
    const redelivered = evaluateReadings(rule, active, undefined, [temp(0, 29), temp(10, 31), temp(5, 20)], NOW);
    expect(redelivered.transitions).toEqual([]);
    expect(run(rule, [[temp(20, 20)]], active).moves).toEqual(['ACTIVE->NORMAL@20']);
  });

  it('stays quiet while snoozed or disabled and returns to NORMAL when the snooze ends', () => {
    const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30 } });
    const snoozed = applyAction(fresh(rule), rule, { kind: 'SNOOZE', seconds: 60 }, 'ops', NOW - 120_000);
    expect(snoozed.snoozeUntil).toBe(NOW - 60_000);
    const during = evaluateReadings(rule, snoozed, undefined, [temp(0, 40)], NOW - 90_000);
    expect(during.transitions).toEqual([]);
    const afterwards = evaluateReadings(rule, during.instance, during.progress, [temp(10, 40)], NOW);
    expect(afterwards.transitions.map((t) => `${t.last.from}->${t.last.to}:${t.last.reason}`)).toEqual([
      'SNOOZE_DISABLED->NORMAL:snooze ended',
      'NORMAL->ACTIVE:temperature > 30: temperature = 40',
    ]);
    const disabled = applyAction(fresh(rule), rule, { kind: 'DISABLE' }, 'ops', NOW);
    expect(evaluateReadings(rule, disabled, undefined, [temp(0, 99)], NOW).transitions).toEqual([]);
    expect(applyAction(disabled, rule, { kind: 'ENABLE' }, 'ops', NOW).state).toBe('NORMAL');
  });

  it('keeps the operator note of a snooze, and refuses one longer than 1,024 characters', () => {
    const rule = testRule();
    const snoozed = applyAction(fresh(rule), rule, { kind: 'SNOOZE', seconds: 600, note: 'maintenance window' }, 'ops', NOW);
    expect(snoozed.last).toMatchObject({ to: 'SNOOZE_DISABLED', actor: 'ops', note: 'maintenance window', reason: 'snoozed for 600 s' });
    expect(() => validateAction({ kind: 'SNOOZE', seconds: 600, note: 'x'.repeat(1025) })).toThrow(/note must be at most 1024 characters/);
  });

  it('counts a late reading inside the pending run, firing where the condition then held, and skips one before the window', () => {
    // Prepare: 3 readings in a row below 15; the middle one comes a batch late
    const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'LT', threshold: 15, consecutive: 3 } });
    const first = evaluateReadings(rule, fresh(rule), freshProgress(), [temp(0, 20), temp(10, 12), temp(30, 11)], NOW);

    // Act
    const late = evaluateReadings(rule, first.instance, first.progress, [temp(20, 13), temp(-5, 10)], NOW);

    // Assess: t=20 joins the run 10, 20, 30 (3 readings at t=30); t=-5 is before the window (t=0 did not meet the condition)
    expect(first.transitions).toEqual([]);
    expect(late.transitions.map((t) => [t.last.to, t.last.eventTime! - T0, t.last.value])).toEqual([['ACTIVE', 30_000, 11]]);
    expect(late.skipped.map((r) => r.ts - T0)).toEqual([-5_000]);
  });

  it('lets a late reading that passes the clear threshold clear an ACTIVE alarm, and the rest of the run fire it again', () => {
    // Prepare: > 30 for 2 readings; fires at t=10; t=15 (below 28) comes late
    const rule = testRule({ condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, consecutive: 2 } });
    const first = evaluateReadings(rule, fresh(rule), freshProgress(), [temp(0, 31), temp(10, 32), temp(20, 33), temp(30, 34)], NOW);

    // Act
    const late = evaluateReadings(rule, first.instance, first.progress, [temp(15, 25)], NOW);

    // Assess: in order, t=15 clears, and 20, 30 hold again at t=30
    expect(first.transitions.map((t) => `${t.last.to}@${(t.last.eventTime! - T0) / 1000}`)).toEqual(['ACTIVE@10']);
    expect(late.transitions.map((t) => `${t.last.from}->${t.last.to}@${(t.last.eventTime! - T0) / 1000}`)).toEqual(['ACTIVE->NORMAL@15', 'NORMAL->ACTIVE@30']);
  });

  it('refuses moves the state model does not have', () => {
    const rule = testRule();
    expect(() => applyAction(fresh(rule), rule, { kind: 'ACKNOWLEDGE' }, 'ops', NOW)).toThrow(/NORMAL: only ACTIVE or LATCHED/);
    expect(() => applyAction(fresh(rule), rule, { kind: 'ENABLE' }, 'ops', NOW)).toThrow(/only a DISABLED alarm/);
    const noAck = testRule({ ackRequired: false });
    const active = run(noAck, [[0, 10, 300].map((s) => temp(s, 40))]).instance;
    expect(() => applyAction(active, noAck, { kind: 'ACKNOWLEDGE' }, 'ops', NOW)).toThrow(/does not take acknowledgements/);
  });
});

describe('evaluateSilence and no-data readings', () => {
  const rule = testRule({ condition: { kind: 'NO_DATA', seconds: 600 } }) as AlarmRule & { condition: { kind: 'NO_DATA'; seconds: number } };

  it('fires after the silence, clears when the device speaks, and ignores old readings', () => {
    const quiet = evaluateSilence(rule, fresh(rule), T0, T0 + 599_000);
    expect(quiet.transitions).toEqual([]);
    const fired = evaluateSilence(rule, fresh(rule), T0, T0 + 600_000);
    expect(fired.instance.state).toBe('ACTIVE');
    expect(evaluateSilence(rule, fired.instance, T0, T0 + 700_000).transitions).toEqual([]);
    expect(evaluateReadings(rule, fired.instance, undefined, [temp(0, 1)], NOW).transitions).toEqual([]);
    const spoke = evaluateReadings(rule, fired.instance, undefined, [temp(650, 1)], NOW);
    expect(spoke.transitions.map((t) => t.state)).toEqual(['NORMAL']);
    // The sweep clears too, if the ingest path did not see the reading.
    expect(evaluateSilence(rule, fired.instance, T0 + 650_000, T0 + 700_000).transitions.map((t) => t.state)).toEqual(['NORMAL']);
  });
});

describe('property: order and duplicates within batches do not matter', () => {
  const ruleArb = fc.record({
    operator: fc.constantFrom('GT' as const, 'GE' as const, 'LT' as const, 'LE' as const),
    hold: fc.oneof(fc.constant({}), fc.integer({ min: 1, max: 60 }).map((forSeconds) => ({ forSeconds })), fc.integer({ min: 1, max: 4 }).map((consecutive) => ({ consecutive }))),
    band: fc.integer({ min: 0, max: 3 }),
    latch: fc.boolean(),
  });

  it('gives the same transitions as the same readings in order', () => {
    fc.assert(
      fc.property(
        ruleArb,
        // Distinct event times (seconds), values around the threshold of 20.
        fc.uniqueArray(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 60 }).chain((times) =>
          fc.tuple(fc.constant(times.sort((a, b) => a - b)), fc.array(fc.integer({ min: 14, max: 26 }), { minLength: times.length, maxLength: times.length })),
        ),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }),
        fc.integer(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ({ operator, hold, band, latch }, [times, values], cuts, seed, redeliverRate) => {
          const up = operator === 'GT' || operator === 'GE';
          const rule = testRule({
            latch,
            condition: { kind: 'THRESHOLD', metric: 'temperature', operator, threshold: 20, clearThreshold: up ? 20 - band : 20 + band, ...hold },
          });
          const readings = times.map((s, i) => temp(s, values[i]!));
          // In order: one reading per batch.
          const ordered = run(rule, readings.map((r) => [r]));
          // Shuffled: consecutive slices as batches, each shuffled with duplicates, and some earlier batches redelivered whole.
          const random = mulberry32(seed);
          const batches: AlarmReading[][] = [];
          let i = 0;
          let c = 0;
          while (i < readings.length) {
            const size = cuts[c++ % cuts.length]!;
            const slice = readings.slice(i, i + size);
            i += size;
            const withDuplicates = [...slice, ...slice.filter(() => random() < 0.5)];
            batches.push(shuffle(withDuplicates, random));
            if (batches.length > 1 && random() < redeliverRate) batches.push(shuffle([...batches[Math.floor(random() * (batches.length - 1))]!], random));
          }
          const shuffled = run(rule, batches);
          expect(shuffled.moves).toEqual(ordered.moves);
          expect(shuffled.instance.state).toBe(ordered.instance.state);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('property: late readings across batches', () => {
  const ruleArb = fc.record({
    operator: fc.constantFrom('GT' as const, 'GE' as const, 'LT' as const, 'LE' as const),
    hold: fc.oneof(fc.constant({}), fc.integer({ min: 1, max: 60 }).map((forSeconds) => ({ forSeconds })), fc.integer({ min: 1, max: 4 }).map((consecutive) => ({ consecutive }))),
    band: fc.integer({ min: 0, max: 3 }),
    latch: fc.boolean(),
  });
  const readingsArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 60 })
    .chain((times) => fc.tuple(fc.constant(times.sort((a, b) => a - b)), fc.array(fc.integer({ min: 14, max: 26 }), { minLength: times.length, maxLength: times.length })));
  const ruleOf = ({ operator, hold, band, latch }: { operator: 'GT' | 'GE' | 'LT' | 'LE'; hold: object; band: number; latch: boolean }) => {
    const up = operator === 'GT' || operator === 'GE';
    return testRule({ latch, condition: { kind: 'THRESHOLD', metric: 'temperature', operator, threshold: 20, clearThreshold: up ? 20 - band : 20 + band, ...hold } });
  };
  const inOrder = (rule: AlarmRule, readings: readonly AlarmReading[]) => run(rule, readings.map((r) => [r]), fresh(rule), freshProgress());

  it('gives the same transitions as in order when only readings that meet the condition without making a transition come late, each no later than the next reading that does not meet it or makes one', () => {
    fc.assert(
      fc.property(ruleArb, readingsArb, fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }), fc.integer(), (shape, [times, values], cuts, seed) => {
        // Prepare: the in-order evaluation tells which readings close a window
        const rule = ruleOf(shape);
        const condition = rule.condition as { operator: 'GT' | 'GE' | 'LT' | 'LE'; threshold: number };
        const readings = times.map((t, i) => temp(t, values[i]!));
        const ordered = inOrder(rule, readings);
        const madeTransition = new Set(ordered.moves.map((m) => Number(m.split('@')[1])));
        const closes = readings.map((r, i) => !compare(values[i]!, condition.operator, condition.threshold) || madeTransition.has((r.ts - T0) / 1000));
        // Natural batches are consecutive slices. A reading that meets the condition without making a transition may come as late
        // as the batch of the next reading after it that does not meet it or makes one; the others come in their own batch.
        const natural: number[] = [];
        for (let i = 0, c = 0, b = 0; i < readings.length; b += 1) for (let n = cuts[c++ % cuts.length]!; n > 0 && i < readings.length; n -= 1) natural[i++] = b;
        const last = natural[natural.length - 1]!;
        const random = mulberry32(seed);
        const batches: AlarmReading[][] = Array.from({ length: last + 1 }, () => []);
        readings.forEach((r, i) => {
          const next = readings.findIndex((_, j) => j > i && closes[j]);
          const deadline = closes[i] ? natural[i]! : next === -1 ? last : natural[next]!;
          const batch = natural[i]! + Math.floor(random() * (deadline - natural[i]! + 1));
          batches[batch]!.push(r);
          // Duplicates in any batch from its own on (a redelivery).
          if (random() < 0.4) batches[batch + Math.floor(random() * (last - batch + 1))]!.push(r);
        });

        // Act
        const late = run(rule, batches.map((b) => shuffle(b, random)), fresh(rule), freshProgress());

        // Assess
        expect(late.evaluated.size).toBe(readings.length);
        expect(late.moves).toEqual(ordered.moves);
        expect(late.instance.state).toBe(ordered.instance.state);
      }),
      { numRuns: 500 },
    );
  });

  it('gives, for any order across batches, exactly the transitions of the readings it evaluated, taken in order, and never evaluates a reading twice', () => {
    fc.assert(
      fc.property(ruleArb, readingsArb, fc.integer({ min: 1, max: 12 }), fc.integer(), (shape, [times, values], batchCount, seed) => {
        // Prepare: every reading (and some duplicates) in a random batch
        const rule = ruleOf(shape);
        const readings = times.map((t, i) => temp(t, values[i]!));
        const random = mulberry32(seed);
        const batches: AlarmReading[][] = Array.from({ length: batchCount }, () => []);
        for (const r of readings) {
          batches[Math.floor(random() * batchCount)]!.push(r);
          if (random() < 0.3) batches[Math.floor(random() * batchCount)]!.push(r);
        }

        // Act
        const shuffled = run(rule, batches.map((b) => shuffle(b, random)), fresh(rule), freshProgress());
        const again = run(rule, [...batches, ...batches].map((b) => shuffle([...b], random)), fresh(rule), freshProgress());

        // Assess: the readings evaluated, in order, give the same transitions; a redelivery of everything adds none
        const ordered = inOrder(rule, readings.filter((r) => shuffled.evaluated.has(key(r))));
        expect(shuffled.moves).toEqual(ordered.moves);
        expect(shuffled.instance.state).toBe(ordered.instance.state);
        expect(again.moves).toEqual(shuffled.moves);
      }),
      { numRuns: 500 },
    );
  });
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
