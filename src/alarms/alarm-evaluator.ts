/**
 * The pure alarm evaluator: one rule, one device's instance, that device's readings in event
 * time order in; the transitions they cause out. No I/O, no clock of its own.
 *
 * Ordering and redelivery: readings are sorted by (ts, seq) and de-duplicated. A reading newer
 * than the newest one evaluated for this (rule, device) is evaluated as it comes. An older one
 * (late: from a redelivered batch, or buffered by the device) is evaluated exactly as if it had
 * come in order when it falls in the open window (see {@link EvaluationWindow}), and otherwise
 * reported as skipped: stored as telemetry, not evaluated. So the transitions are always those
 * of evaluating, in order, every reading that was not skipped, never a second or contradicting
 * one; and none is skipped when each late reading arrives no later than the first reading after
 * it that does not meet the condition or that made a transition. The newest point evaluated
 * lives in {@link EvaluationProgress} (memory) and, at every condition-driven transition, in the
 * stored instance (`evaluatedTs`), so this holds in a process that has just started too.
 */
import type { ReadingValue } from '../domain/device.js';
import { compare, describeCondition, OPERATOR_SYMBOLS, type AlarmRule, type NoDataCondition, type ThresholdCondition } from './alarm-rule.js';
import { applyTransition, SYSTEM_ACTOR, type AlarmInstance, type AlarmState } from './alarm-state.js';

/** One telemetry message of a device, as the ingest handler accepted it. */
export interface AlarmReading {
  /** Event time (epoch ms). */
  readonly ts: number;
  readonly seq: number;
  readonly metrics: Readonly<Record<string, ReadingValue>>;
}

/** A reading of the current run (it met the condition), as the window keeps it. */
export interface RunReading {
  readonly ts: number;
  readonly seq: number;
  readonly value: number;
}

/**
 * What a late reading can still change, for a threshold rule: the current run of readings that
 * met the condition, and the reading just before it that did not (`opensAfter`). A late reading
 * after `opensAfter` and after the alarm's last condition-driven transition is evaluated exactly
 * (inserted into the run, or splitting it), which matters only to a duration or N-readings
 * condition pending in that run, or to clearing an ACTIVE alarm. Kept only while complete: a
 * process that has not seen the window open (a new one) has none, and a run longer than
 * MAX_WINDOW_READINGS drops it until the next reading that does not meet the condition.
 */
export interface EvaluationWindow {
  readonly opensAfter: { readonly ts: number; readonly seq: number };
  /** Oldest first. */
  readonly run: readonly RunReading[];
}

/** Longest run a window keeps (100 readings: 16 minutes at one reading per 10 s). */
export const MAX_WINDOW_READINGS = 100;

/**
 * What the evaluator remembers between batches about one (rule, device), besides the stored
 * instance: where evaluation got to, how long the condition has held, and the open window.
 * Not stored with each reading: losing it (a new process) restarts a pending count from the next
 * reading, and late readings are skipped until a window opens again; a long pending duration is
 * resumed from the run start AlarmEvaluation stores apart (alarm-evaluation.ts).
 */
export interface EvaluationProgress {
  readonly lastTs: number;
  readonly lastSeq: number;
  /** Event time of the first reading of the current unbroken run that meets the condition. */
  readonly breachSince?: number;
  /** Readings in that run. */
  readonly breachCount: number;
  readonly window?: EvaluationWindow;
}

/** The evaluator's answer for one (rule, device) and one batch. */
export interface Evaluation {
  readonly instance: AlarmInstance;
  readonly progress: EvaluationProgress;
  /** Each transition's resulting instance, in order; empty when nothing changed. */
  readonly transitions: readonly AlarmInstance[];
  /** Late readings outside the open window: stored as telemetry, not evaluated. */
  readonly skipped: readonly AlarmReading[];
}

/** Progress of a pair never evaluated in this process: starts after the stored instance's evaluatedTs, with no window. */
export function initialProgress(instance: AlarmInstance): EvaluationProgress {
  return { lastTs: instance.evaluatedTs ?? Number.NEGATIVE_INFINITY, lastSeq: Number.POSITIVE_INFINITY, breachCount: 0 };
}

/** Progress of a pair this process will see every reading of, from its first: the window is open from the start. */
export function freshProgress(): EvaluationProgress {
  const start = { ts: Number.NEGATIVE_INFINITY, seq: Number.NEGATIVE_INFINITY };
  return { lastTs: start.ts, lastSeq: start.seq, breachCount: 0, window: { opensAfter: start, run: [] } };
}

const compareReadings = (a: { ts: number; seq: number }, b: { ts: number; seq: number }): number => a.ts - b.ts || a.seq - b.seq;

const after = (reading: AlarmReading, progress: EvaluationProgress): boolean =>
  reading.ts > progress.lastTs || (reading.ts === progress.lastTs && reading.seq > progress.lastSeq);

/** Sorted by (ts, seq), one reading per (ts, seq). */
export function orderReadings(readings: readonly AlarmReading[]): AlarmReading[] {
  const sorted = [...readings].sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  return sorted.filter((r, i) => i === 0 || r.ts !== sorted[i - 1]!.ts || r.seq !== sorted[i - 1]!.seq);
}

/** The state a held alarm clears to. */
const clearedState = (rule: Pick<AlarmRule, 'latch'>, state: AlarmState): AlarmState => (state === 'ACTIVE' && rule.latch ? 'LATCHED' : 'NORMAL');

/** A snoozed alarm whose snooze ended returns to NORMAL before anything else is evaluated. */
function expireSnooze(rule: AlarmRule, instance: AlarmInstance, now: number, out: AlarmInstance[]): AlarmInstance {
  if (instance.state !== 'SNOOZE_DISABLED' || instance.snoozeUntil === undefined || now < instance.snoozeUntil) return instance;
  const next = applyTransition(instance, rule, 'NORMAL', { at: new Date(now).toISOString(), reason: 'snooze ended', actor: SYSTEM_ACTOR });
  out.push(next);
  return next;
}

/**
 * Evaluates `readings` of one device against one rule. `now` is the wall clock of the batch
 * (transition times and snooze expiry); conditions follow event time only.
 */
export function evaluateReadings(
  rule: AlarmRule,
  stored: AlarmInstance,
  progress: EvaluationProgress | undefined,
  readings: readonly AlarmReading[],
  now: number,
): Evaluation {
  const transitions: AlarmInstance[] = [];
  const skipped: AlarmReading[] = [];
  let instance = expireSnooze(rule, stored, now, transitions);
  let state = progress ?? initialProgress(stored);
  const at = new Date(now).toISOString();
  for (const reading of orderReadings(readings)) {
    if (rule.condition.kind === 'NO_DATA') {
      // Silence is measured from the newest reading: an older one changes nothing.
      if (!after(reading, state)) {
        skipped.push(reading);
        continue;
      }
      state = { ...state, lastTs: reading.ts, lastSeq: reading.seq };
      // A per-metric rule hears only readings of its metric; others, any reading.
      if (rule.condition.metric === undefined || rule.condition.metric in reading.metrics) instance = speaks(rule, instance, reading, at, transitions);
      continue;
    }
    const condition = rule.condition;
    const raw = reading.metrics[condition.metric];
    // Other metrics, and non-numeric values of this one, say nothing about this rule.
    if (typeof raw !== 'number') continue;
    const step = after(reading, state) ? inOrderStep : lateStep;
    const result = step(rule, condition, instance, state, { ts: reading.ts, seq: reading.seq, value: raw }, at, transitions);
    if (!result) {
      skipped.push(reading);
      continue;
    }
    ({ instance, state } = result);
  }
  return { instance, progress: state, transitions, skipped };
}

type Step = (
  rule: AlarmRule,
  condition: ThresholdCondition,
  instance: AlarmInstance,
  state: EvaluationProgress,
  reading: RunReading,
  at: string,
  out: AlarmInstance[],
) => { instance: AlarmInstance; state: EvaluationProgress } | undefined;

/** A reading newer than every one evaluated: the run and window move on, then the state model. */
const inOrderStep: Step = (rule, condition, instance, state, reading, at, out) => {
  const breach = compare(reading.value, condition.operator, condition.threshold);
  const point = { lastTs: reading.ts, lastSeq: reading.seq };
  let window: EvaluationWindow | undefined;
  if (!breach) window = { opensAfter: { ts: reading.ts, seq: reading.seq }, run: [] };
  else if (state.window && state.window.run.length < MAX_WINDOW_READINGS) window = { opensAfter: state.window.opensAfter, run: [...state.window.run, reading] };
  const next: EvaluationProgress = breach
    ? { ...point, breachSince: state.breachSince ?? reading.ts, breachCount: state.breachCount + 1, ...(window && { window }) }
    : { ...point, breachCount: 0, ...(window && { window }) };
  return { instance: thresholdStep(rule, condition, instance, next, reading.value, reading.ts, at, out), state: next };
};

/**
 * A reading older than the newest evaluated one. Evaluated exactly when it falls in the open
 * window and after the alarm's last condition-driven transition (nothing made since depends on
 * what it changes); undefined (skipped) otherwise.
 */
const lateStep: Step = (rule, condition, instance, state, reading, at, out) => {
  const window = state.window;
  if (!window || compareReadings(reading, window.opensAfter) <= 0) return undefined;
  if (window.run.some((r) => r.ts === reading.ts && r.seq === reading.seq)) return { instance, state };
  if (instance.evaluatedTs !== undefined && reading.ts <= instance.evaluatedTs) return undefined;
  const move = (from: AlarmInstance, to: AlarmState, r: RunReading, reason: string) => {
    const next = applyTransition(from, rule, to, { at, reason, actor: SYSTEM_ACTOR, eventTime: r.ts, value: r.value });
    out.push(next);
    return next;
  };
  /** Fires at the first reading of `run`, from index `from` on, where the condition has held (the state model allowing). */
  const fireInRun = (current: AlarmInstance, run: readonly RunReading[], from: number): AlarmInstance => {
    if (current.state !== 'NORMAL' && current.state !== 'LATCHED') return current;
    for (let k = from; k < run.length; k += 1) {
      const progress = { lastTs: run[k]!.ts, lastSeq: run[k]!.seq, breachSince: run[0]!.ts, breachCount: k + 1 };
      if (held(condition, progress, run[k]!.ts)) return move(current, 'ACTIVE', run[k]!, `${describeCondition(condition)}: ${condition.metric} = ${run[k]!.value}`);
    }
    return current;
  };
  const withRun = (opensAfter: EvaluationWindow['opensAfter'], run: readonly RunReading[]): EvaluationProgress => ({
    lastTs: state.lastTs,
    lastSeq: state.lastSeq,
    breachCount: run.length,
    ...(run.length > 0 && { breachSince: run[0]!.ts }),
    ...(run.length <= MAX_WINDOW_READINGS && { window: { opensAfter, run } }),
  });

  if (compare(reading.value, condition.operator, condition.threshold)) {
    const run = [...window.run, reading].sort(compareReadings);
    const next = withRun(window.opensAfter, run);
    return { instance: fireInRun(instance, run, run.indexOf(reading)), state: next };
  }
  // It does not meet the condition: the run restarts after it.
  const run = window.run.filter((r) => compareReadings(r, reading) > 0);
  const next = withRun({ ts: reading.ts, seq: reading.seq }, run);
  let current = instance;
  if ((current.state === 'ACTIVE' || current.state === 'ACKNOWLEDGED') && cleared(condition, reading.value)) {
    current = move(current, clearedState(rule, current.state), reading, clearReason(condition, reading.value));
    current = fireInRun(current, run, 0);
  }
  return { instance: current, state: next };
};

function held(condition: ThresholdCondition, progress: EvaluationProgress, ts: number): boolean {
  if (progress.breachSince === undefined) return false;
  if (condition.forSeconds !== undefined) return ts - progress.breachSince >= condition.forSeconds * 1000;
  if (condition.consecutive !== undefined) return progress.breachCount >= condition.consecutive;
  return true;
}

function cleared(condition: ThresholdCondition, value: number): boolean {
  const { operator, clearThreshold } = condition;
  if (clearThreshold === undefined) return !compare(value, operator, condition.threshold);
  if (operator === 'GT' || operator === 'GE') return value < clearThreshold;
  return value > clearThreshold;
}

function clearReason(condition: ThresholdCondition, value: number): string {
  return condition.clearThreshold === undefined
    ? `${condition.metric} = ${value} no longer ${OPERATOR_SYMBOLS[condition.operator]} ${condition.threshold}`
    : `${condition.metric} = ${value} passed the clear threshold ${condition.clearThreshold}`;
}

function thresholdStep(
  rule: AlarmRule,
  condition: ThresholdCondition,
  instance: AlarmInstance,
  progress: EvaluationProgress,
  value: number,
  ts: number,
  at: string,
  out: AlarmInstance[],
): AlarmInstance {
  const move = (to: AlarmState, reason: string) => {
    const next = applyTransition(instance, rule, to, { at, reason, actor: SYSTEM_ACTOR, eventTime: ts, value });
    out.push(next);
    return next;
  };
  switch (instance.state) {
    case 'NORMAL':
    case 'LATCHED':
      return held(condition, progress, ts) ? move('ACTIVE', `${describeCondition(condition)}: ${condition.metric} = ${value}`) : instance;
    case 'ACTIVE':
    case 'ACKNOWLEDGED':
      if (!cleared(condition, value)) return instance;
      return move(clearedState(rule, instance.state), clearReason(condition, value));
    default:
      // SNOOZE_DISABLED and DISABLED make no condition-driven moves; progress still advances.
      return instance;
  }
}

/** Why a no-data alarm cleared. */
function spokeReason(rule: AlarmRule): string {
  return rule.condition.kind === 'NO_DATA' && rule.condition.metric !== undefined ? `the device sent ${rule.condition.metric} again` : 'the device sent data again';
}

function speaks(rule: AlarmRule, instance: AlarmInstance, reading: AlarmReading, at: string, out: AlarmInstance[]): AlarmInstance {
  if (instance.state !== 'ACTIVE' && instance.state !== 'ACKNOWLEDGED') return instance;
  if (instance.evaluatedTs !== undefined && reading.ts <= instance.evaluatedTs) return instance;
  const next = applyTransition(instance, rule, clearedState(rule, instance.state), {
    at,
    reason: spokeReason(rule),
    actor: SYSTEM_ACTOR,
    eventTime: reading.ts,
  });
  out.push(next);
  return next;
}

/**
 * The scheduled half of a no-data rule: `lastSeen` is the event time of the device's newest
 * reading (or when it was registered, if it never sent one). Fires once the silence reaches the
 * rule's length; clears when the device spoke after the silence was recorded (in case the ingest
 * path missed it); ends expired snoozes.
 */
export function evaluateSilence(rule: AlarmRule & { readonly condition: NoDataCondition }, stored: AlarmInstance, lastSeen: number, now: number): Evaluation {
  const transitions: AlarmInstance[] = [];
  let instance = expireSnooze(rule, stored, now, transitions);
  const at = new Date(now).toISOString();
  const silentFor = now - lastSeen;
  const progress: EvaluationProgress = { lastTs: lastSeen, lastSeq: Number.POSITIVE_INFINITY, breachCount: 0 };
  if ((instance.state === 'NORMAL' || instance.state === 'LATCHED') && silentFor >= rule.condition.seconds * 1000) {
    instance = applyTransition(instance, rule, 'ACTIVE', {
      at,
      reason: `${describeCondition(rule.condition)} (silent for ${Math.floor(silentFor / 1000)} s)`,
      actor: SYSTEM_ACTOR,
      eventTime: lastSeen,
    });
    transitions.push(instance);
  } else if ((instance.state === 'ACTIVE' || instance.state === 'ACKNOWLEDGED') && instance.evaluatedTs !== undefined && lastSeen > instance.evaluatedTs) {
    instance = applyTransition(instance, rule, clearedState(rule, instance.state), { at, reason: spokeReason(rule), actor: SYSTEM_ACTOR, eventTime: lastSeen });
    transitions.push(instance);
  }
  return { instance, progress, transitions, skipped: [] };
}
