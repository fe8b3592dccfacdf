/**
 * The pure alarm evaluator: one rule, one device's instance, that device's readings in event
 * time order in; the transitions they cause out. No I/O, no clock of its own.
 *
 * Ordering and redelivery: readings are sorted by (ts, seq) and de-duplicated; a reading at or
 * before the newest one already evaluated for this (rule, device) is ignored. That newest point
 * lives in {@link EvaluationProgress} (memory) and, at every condition-driven transition, in
 * the stored instance (`evaluatedTs`), so a redelivered batch, or a late reading, never causes a
 * second or a contradicting transition, even in a process that has just started.
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

/**
 * What the evaluator remembers between batches about one (rule, device), besides the stored
 * instance: where evaluation got to, and how long the condition has held. Never stored: losing
 * it (a new process) restarts a pending duration or count from the next reading.
 */
export interface EvaluationProgress {
  readonly lastTs: number;
  readonly lastSeq: number;
  /** Event time of the first reading of the current unbroken run that meets the condition. */
  readonly breachSince?: number;
  /** Readings in that run. */
  readonly breachCount: number;
}

/** The evaluator's answer for one (rule, device) and one batch. */
export interface Evaluation {
  readonly instance: AlarmInstance;
  readonly progress: EvaluationProgress;
  /** Each transition's resulting instance, in order; empty when nothing changed. */
  readonly transitions: readonly AlarmInstance[];
}

/** Progress of a pair never evaluated in this process: starts after the stored instance's evaluatedTs. */
export function initialProgress(instance: AlarmInstance): EvaluationProgress {
  return { lastTs: instance.evaluatedTs ?? Number.NEGATIVE_INFINITY, lastSeq: Number.POSITIVE_INFINITY, breachCount: 0 };
}

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
  let instance = expireSnooze(rule, stored, now, transitions);
  let state = progress ?? initialProgress(stored);
  const at = new Date(now).toISOString();
  for (const reading of orderReadings(readings)) {
    if (!after(reading, state)) continue;
    if (rule.condition.kind === 'NO_DATA') {
      state = { ...state, lastTs: reading.ts, lastSeq: reading.seq };
      // A per-metric rule hears only readings of its metric; others, any reading.
      if (rule.condition.metric === undefined || rule.condition.metric in reading.metrics) instance = speaks(rule, instance, reading, at, transitions);
      continue;
    }
    const condition = rule.condition;
    const raw = reading.metrics[condition.metric];
    // Other metrics, and non-numeric values of this one, say nothing about this rule.
    if (typeof raw !== 'number') continue;
    const breach = compare(raw, condition.operator, condition.threshold);
    state = breach
      ? { lastTs: reading.ts, lastSeq: reading.seq, breachSince: state.breachSince ?? reading.ts, breachCount: state.breachCount + 1 }
      : { lastTs: reading.ts, lastSeq: reading.seq, breachCount: 0 };
    instance = thresholdStep(rule, condition, instance, state, raw, reading.ts, at, transitions);
  }
  return { instance, progress: state, transitions };
}

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
      return move(
        clearedState(rule, instance.state),
        condition.clearThreshold === undefined
          ? `${condition.metric} = ${value} no longer ${OPERATOR_SYMBOLS[condition.operator]} ${condition.threshold}`
          : `${condition.metric} = ${value} passed the clear threshold ${condition.clearThreshold}`,
      );
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
  return { instance, progress, transitions };
}
