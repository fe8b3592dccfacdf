/**
 * Alarm instances and their state model, the one AWS IoT Events alarms had: NORMAL, ACTIVE,
 * ACKNOWLEDGED, LATCHED, SNOOZE_DISABLED and DISABLED. One instance per (rule, device); a pair
 * that never left NORMAL has no stored instance. Operator actions are pure functions here; the
 * evaluator (alarm-evaluator.ts) makes the condition-driven moves.
 */
import { ConflictError, ValidationError } from '../domain/errors.js';
import type { AlarmRule, AlarmSeverity } from './alarm-rule.js';

/** Every state of an alarm instance. */
export const ALARM_STATES = ['NORMAL', 'ACTIVE', 'ACKNOWLEDGED', 'LATCHED', 'SNOOZE_DISABLED', 'DISABLED'] as const;
/** The state of one (rule, device) alarm. */
export type AlarmState = (typeof ALARM_STATES)[number];

/** Who caused a transition: `system` for the evaluator and the scheduler, else the caller's name. */
export type Actor = string;
/** The actor of condition-driven and scheduled transitions. */
export const SYSTEM_ACTOR = 'system';

/** Longest snooze: a week. */
export const MAX_SNOOZE_SECONDS = 7 * 86_400;
/** Longest acknowledgement note, in characters. */
export const MAX_NOTE_LENGTH = 1_024;

/** One recorded state change of an alarm. `rev` numbers an alarm's transitions from 1. */
export interface AlarmTransition {
  readonly alarmId: string;
  readonly ruleId: string;
  readonly ruleName: string;
  readonly ruleVersion: number;
  readonly deviceId: string;
  readonly severity: AlarmSeverity;
  readonly rev: number;
  readonly from: AlarmState;
  readonly to: AlarmState;
  /** Wall-clock time of the transition (ISO-8601). */
  readonly at: string;
  /** Event time of the reading that caused it (epoch ms), for condition-driven transitions. */
  readonly eventTime?: number;
  /** The reading's value, when a reading caused it. */
  readonly value?: number;
  readonly reason: string;
  readonly actor: Actor;
  /** The operator's note of an acknowledgement. */
  readonly note?: string;
}

/** An alarm instance as stored (its latest transition inline, so the stream carries it). */
export interface AlarmInstance {
  /** `<ruleId>.<deviceId>`. */
  readonly id: string;
  readonly ruleId: string;
  readonly deviceId: string;
  readonly severity: AlarmSeverity;
  readonly state: AlarmState;
  /** Number of transitions so far; every write is conditional on it. */
  readonly rev: number;
  /** Time of the latest transition (ISO-8601). */
  readonly changedAt: string;
  /** The rule's notify flag at the latest transition: whether it is published beyond the live APIs. */
  readonly notify: boolean;
  /**
   * Event time (epoch ms) up to which readings were evaluated when the latest condition-driven
   * transition was made: a redelivered or late reading at or before it is ignored.
   */
  readonly evaluatedTs?: number;
  /** End of a snooze (epoch ms), in SNOOZE_DISABLED. */
  readonly snoozeUntil?: number;
  readonly last: AlarmTransition;
}

/** The id of the alarm of `ruleId` on `deviceId` (thing names never contain a dot). */
export function alarmId(ruleId: string, deviceId: string): string {
  return `${ruleId}.${deviceId}`;
}

/** The rule and device of an alarm id; ValidationError when it is not one. */
export function parseAlarmId(id: unknown, field = 'id'): { ruleId: string; deviceId: string } {
  const match = typeof id === 'string' ? /^([0-9a-f-]{36})\.([a-zA-Z0-9:_-]{1,128})$/.exec(id) : null;
  if (!match) throw new ValidationError(`${field} must be an alarm id "<ruleId>.<deviceId>"`, field);
  return { ruleId: match[1]!, deviceId: match[2]! };
}

/** What {@link applyTransition} needs to know about the rule. */
export type RuleRef = Pick<AlarmRule, 'id' | 'name' | 'version' | 'severity' | 'notify'>;

/** The state of a (rule, device) pair that has no stored instance. */
export function normalInstance(rule: RuleRef, deviceId: string, at: string): AlarmInstance {
  const id = alarmId(rule.id, deviceId);
  return {
    id,
    ruleId: rule.id,
    deviceId,
    severity: rule.severity,
    state: 'NORMAL',
    rev: 0,
    changedAt: at,
    notify: rule.notify,
    last: { alarmId: id, ruleId: rule.id, ruleName: rule.name, ruleVersion: rule.version, deviceId, severity: rule.severity, rev: 0, from: 'NORMAL', to: 'NORMAL', at, reason: 'created', actor: SYSTEM_ACTOR },
  };
}

/** The details of one move, besides the states. */
export interface TransitionDetails {
  readonly at: string;
  readonly reason: string;
  readonly actor: Actor;
  readonly eventTime?: number;
  readonly value?: number;
  readonly note?: string;
  readonly snoozeUntil?: number;
}

/** The instance after moving to `to`, with its transition recorded inline and `rev` advanced. */
export function applyTransition(instance: AlarmInstance, rule: RuleRef, to: AlarmState, details: TransitionDetails): AlarmInstance {
  const rev = instance.rev + 1;
  const last: AlarmTransition = {
    alarmId: instance.id,
    ruleId: instance.ruleId,
    ruleName: rule.name,
    ruleVersion: rule.version,
    deviceId: instance.deviceId,
    severity: rule.severity,
    rev,
    from: instance.state,
    to,
    at: details.at,
    ...(details.eventTime !== undefined && { eventTime: details.eventTime }),
    ...(details.value !== undefined && { value: details.value }),
    reason: details.reason,
    actor: details.actor,
    ...(details.note !== undefined && { note: details.note }),
  };
  const { snoozeUntil: _drop, ...rest } = instance;
  return {
    ...rest,
    severity: rule.severity,
    notify: rule.notify,
    state: to,
    rev,
    changedAt: details.at,
    ...(details.eventTime !== undefined ? { evaluatedTs: details.eventTime } : {}),
    ...(to === 'SNOOZE_DISABLED' && details.snoozeUntil !== undefined && { snoozeUntil: details.snoozeUntil }),
    last,
  };
}

/** An operator's action on an alarm. */
export type AlarmAction =
  | { readonly kind: 'ACKNOWLEDGE'; readonly note?: string }
  | { readonly kind: 'SNOOZE'; readonly seconds: number; readonly note?: string }
  | { readonly kind: 'DISABLE' }
  | { readonly kind: 'ENABLE' };

/** Validates an action's parameters (snooze length, note length). */
export function validateAction(action: AlarmAction): AlarmAction {
  if (action.kind === 'SNOOZE') {
    const { seconds } = action;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SNOOZE_SECONDS) {
      throw new ValidationError(`seconds must be a whole number from 1 to ${MAX_SNOOZE_SECONDS}, got ${String(seconds)}`, 'seconds');
    }
  }
  if ((action.kind === 'ACKNOWLEDGE' || action.kind === 'SNOOZE') && action.note !== undefined) {
    if (typeof action.note !== 'string') throw new ValidationError('note must be a string', 'note');
    if ([...action.note].length > MAX_NOTE_LENGTH) throw new ValidationError(`note must be at most ${MAX_NOTE_LENGTH} characters`, 'note');
  }
  return action;
}

/**
 * The instance after an operator's action, or a ConflictError when the state model has no
 * such move from the current state:
 * - acknowledge: ACTIVE → ACKNOWLEDGED, LATCHED → NORMAL (only for rules that take acknowledgements);
 * - snooze: any state but DISABLED → SNOOZE_DISABLED until now + seconds (again: extends it);
 * - disable: any state → DISABLED; enable: DISABLED → NORMAL.
 */
export function applyAction(instance: AlarmInstance, rule: RuleRef & Pick<AlarmRule, 'ackRequired'>, action: AlarmAction, actor: Actor, now: number): AlarmInstance {
  const at = new Date(now).toISOString();
  const refuse = (what: string) => new ConflictError(`Alarm ${instance.id} is ${instance.state}: ${what}`, instance.rev);
  switch (action.kind) {
    case 'ACKNOWLEDGE': {
      if (!rule.ackRequired) throw new ConflictError(`Rule "${rule.name}" does not take acknowledgements (ackRequired is false)`, instance.rev);
      const note = action.note === undefined ? {} : { note: action.note };
      if (instance.state === 'ACTIVE') return applyTransition(instance, rule, 'ACKNOWLEDGED', { at, reason: 'acknowledged', actor, ...note });
      if (instance.state === 'LATCHED') return applyTransition(instance, rule, 'NORMAL', { at, reason: 'acknowledged while latched', actor, ...note });
      throw refuse('only ACTIVE or LATCHED alarms can be acknowledged');
    }
    case 'SNOOZE': {
      if (instance.state === 'DISABLED') throw refuse('enable it before snoozing');
      const snoozeUntil = now + action.seconds * 1000;
      const note = action.note === undefined ? {} : { note: action.note };
      return applyTransition(instance, rule, 'SNOOZE_DISABLED', { at, reason: `snoozed for ${action.seconds} s`, actor, snoozeUntil, ...note });
    }
    case 'DISABLE':
      if (instance.state === 'DISABLED') throw refuse('already disabled');
      return applyTransition(instance, rule, 'DISABLED', { at, reason: 'disabled', actor });
    case 'ENABLE':
      if (instance.state !== 'DISABLED') throw refuse('only a DISABLED alarm can be enabled');
      return applyTransition(instance, rule, 'NORMAL', { at, reason: 'enabled', actor });
  }
}
