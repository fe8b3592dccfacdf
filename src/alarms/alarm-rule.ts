/**
 * Alarm rules: what to watch (a metric against a threshold, or silence), on which devices,
 * how loud, and how an alarm clears. Every door hands its input to {@link validateRuleInput},
 * so a rule is checked once, the same way, whoever creates it.
 */
import { ValidationError } from '../domain/errors.js';
import type { Json } from '../domain/json-document.js';
import { TYPE_PATTERN, validateDeviceId } from '../domain/validation.js';
import { validateCommandName, validatePayload, validateTimeoutSeconds } from '../commands/command-validation.js';
import { ALARM_STATES, type AlarmState } from './alarm-state.js';

/** Severities, loudest first. */
export const ALARM_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;
/** How urgent an alarm of a rule is. */
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

/** Comparison operators by name (GraphQL and gRPC enums use these names). */
export const COMPARISON_OPERATORS = ['GT', 'GE', 'LT', 'LE', 'EQ', 'NE'] as const;
/** A comparison of a reading with the rule's threshold. */
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

/** The symbol of each operator, as the CLI accepts it and reasons print it. */
export const OPERATOR_SYMBOLS: Readonly<Record<ComparisonOperator, string>> = { GT: '>', GE: '>=', LT: '<', LE: '<=', EQ: '==', NE: '!=' };

/** Metric names, as the device contract allows them. */
export const METRIC_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Bounds of the rule's time and count settings. */
export const RULE_LIMITS = Object.freeze({
  /** A threshold must hold at most a day (event time). */
  maxForSeconds: 86_400,
  maxConsecutive: 1_000,
  /** Shortest silence a no-data rule watches; the cloud sweep runs once a minute, so below 60 s it fires up to a minute late. */
  minNoDataSeconds: 10,
  /** Longest silence: the 7 days a device may buffer readings for. */
  maxNoDataSeconds: 7 * 86_400,
  maxNameLength: 128,
  maxDescriptionLength: 1_024,
});

/** Which devices a rule watches. */
export type AlarmTarget =
  | { readonly kind: 'DEVICE'; readonly deviceId: string }
  | { readonly kind: 'DEVICE_TYPE'; readonly deviceType: string }
  | { readonly kind: 'ALL' };

/**
 * A metric compared with a threshold. It must hold for `forSeconds` of event time or for
 * `consecutive` readings in a row (neither: the first reading fires). With `clearThreshold`
 * the alarm clears only once the value is strictly beyond it on the safe side (hysteresis);
 * without it, as soon as the comparison no longer holds.
 */
export interface ThresholdCondition {
  readonly kind: 'THRESHOLD';
  readonly metric: string;
  readonly operator: ComparisonOperator;
  readonly threshold: number;
  readonly clearThreshold?: number;
  readonly forSeconds?: number;
  readonly consecutive?: number;
}

/**
 * Silence for `seconds`: no telemetry at all from the device, or, with `metric`, no reading of
 * that metric (the device may keep sending others).
 */
export interface NoDataCondition {
  readonly kind: 'NO_DATA';
  readonly seconds: number;
  readonly metric?: string;
}

/** What a rule watches for. */
export type AlarmCondition = ThresholdCondition | NoDataCondition;

/**
 * A command the platform sends to the alarm's device when the alarm enters one of `onStates`
 * (through the command use case, so it is queued for an offline device like any other).
 */
export interface AlarmCommandAction {
  readonly name: string;
  readonly payload: Json;
  readonly timeoutSeconds: number;
  /** The states whose entry sends it; ACTIVE when not given. */
  readonly onStates: readonly AlarmState[];
}

/** A rule as stored and served. */
export interface AlarmRule {
  /** A UUID. */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly severity: AlarmSeverity;
  readonly target: AlarmTarget;
  readonly condition: AlarmCondition;
  /** The alarm stays LATCHED after it clears until someone acknowledges it. */
  readonly latch: boolean;
  /** Whether an operator acknowledges alarms of this rule (ACKNOWLEDGED / LATCHED exist only then). */
  readonly ackRequired: boolean;
  /** Publish each transition (EventBridge, SNS; locally the events file and subscribers). */
  readonly notify: boolean;
  /** Sent to the device on the transitions it names. */
  readonly command?: AlarmCommandAction;
  /** Starts at 1; every update adds one. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The fields a caller sets on create or update. */
export interface AlarmRuleInput {
  readonly name: unknown;
  readonly description?: unknown;
  readonly severity: unknown;
  readonly target: unknown;
  readonly condition: unknown;
  readonly latch?: unknown;
  readonly ackRequired?: unknown;
  readonly notify?: unknown;
  readonly command?: unknown;
}

/** The validated, caller-settable part of a rule. */
export type AlarmRuleSpec = Omit<AlarmRule, 'id' | 'version' | 'createdAt' | 'updatedAt'>;

const describe = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(`${field} must be an object, got ${describe(value)}`, field);
  return value as Record<string, unknown>;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(`${field} must be one of ${allowed.join(', ')}, got ${typeof value === 'string' ? `"${value.slice(0, 40)}"` : describe(value)}`, field);
  }
  return value as T;
}

function finite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError(`${field} must be a finite number, got ${describe(value)}`, field);
  return value;
}

function integerIn(value: unknown, min: number, max: number, field: string, unit: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${field} must be a whole number of ${unit} from ${min} to ${max}, got ${typeof value === 'number' ? value : describe(value)}`, field);
  }
  return value;
}

function text(value: unknown, field: string, max: number, required: boolean): string {
  if (value === undefined || value === null) {
    if (required) throw new ValidationError(`${field} is required`, field);
    return '';
  }
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string, got ${describe(value)}`, field);
  if (required && value.trim().length === 0) throw new ValidationError(`${field} must not be empty`, field);
  if ([...value].length > max) throw new ValidationError(`${field} must be at most ${max} characters`, field);
  return value;
}

function flag(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new ValidationError(`${field} must be a boolean, got ${describe(value)}`, field);
  return value;
}

/** A rule target from any door's decoded input. */
export function validateTarget(value: unknown, field = 'target'): AlarmTarget {
  const input = record(value, field);
  const kind = oneOf(input.kind, ['DEVICE', 'DEVICE_TYPE', 'ALL'] as const, `${field}.kind`);
  if (kind === 'DEVICE') return { kind, deviceId: validateDeviceId(input.deviceId, `${field}.deviceId`) };
  if (kind === 'DEVICE_TYPE') {
    if (typeof input.deviceType !== 'string' || !TYPE_PATTERN.test(input.deviceType)) {
      throw new ValidationError(`${field}.deviceType must match ${TYPE_PATTERN.source}`, `${field}.deviceType`);
    }
    return { kind, deviceType: input.deviceType };
  }
  return { kind };
}

function metricName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !METRIC_PATTERN.test(value)) {
    throw new ValidationError(
      `${field}.metric must be a metric name: a letter, then up to 63 letters, digits, "_", "." or "-" (got ${typeof value === 'string' ? `"${value.slice(0, 70)}"` : describe(value)})`,
      `${field}.metric`,
    );
  }
  return value;
}

/** A rule condition from any door's decoded input; explains which rule it breaks. */
export function validateCondition(value: unknown, field = 'condition'): AlarmCondition {
  const input = record(value, field);
  const kind = oneOf(input.kind, ['THRESHOLD', 'NO_DATA'] as const, `${field}.kind`);
  if (kind === 'NO_DATA') {
    const seconds = integerIn(input.seconds, RULE_LIMITS.minNoDataSeconds, RULE_LIMITS.maxNoDataSeconds, `${field}.seconds`, 'seconds');
    if (input.metric === undefined || input.metric === null) return { kind, seconds };
    return { kind, seconds, metric: metricName(input.metric, field) };
  }
  const metric = metricName(input.metric, field);
  const operator = oneOf(input.operator, COMPARISON_OPERATORS, `${field}.operator`);
  const threshold = finite(input.threshold, `${field}.threshold`);
  const has = (name: string) => input[name] !== undefined && input[name] !== null;
  let clearThreshold: number | undefined;
  if (has('clearThreshold')) {
    clearThreshold = finite(input.clearThreshold, `${field}.clearThreshold`);
    const f = `${field}.clearThreshold`;
    if (operator === 'EQ' || operator === 'NE') throw new ValidationError(`${f} applies to <, <=, > and >= only: an equality clears when it no longer holds`, f);
    if ((operator === 'GT' || operator === 'GE') && clearThreshold > threshold) {
      throw new ValidationError(`${f} (${clearThreshold}) is on the wrong side: with ${OPERATOR_SYMBOLS[operator]} ${threshold} it must be at most ${threshold}`, f);
    }
    if ((operator === 'LT' || operator === 'LE') && clearThreshold < threshold) {
      throw new ValidationError(`${f} (${clearThreshold}) is on the wrong side: with ${OPERATOR_SYMBOLS[operator]} ${threshold} it must be at least ${threshold}`, f);
    }
  }
  if (has('forSeconds') && has('consecutive')) throw new ValidationError(`${field}: set forSeconds or consecutive, not both`, `${field}.forSeconds`);
  const forSeconds = has('forSeconds') ? integerIn(input.forSeconds, 1, RULE_LIMITS.maxForSeconds, `${field}.forSeconds`, 'seconds') : undefined;
  const consecutive = has('consecutive') ? integerIn(input.consecutive, 1, RULE_LIMITS.maxConsecutive, `${field}.consecutive`, 'readings') : undefined;
  return {
    kind,
    metric,
    operator,
    threshold,
    ...(clearThreshold !== undefined && { clearThreshold }),
    ...(forSeconds !== undefined && { forSeconds }),
    ...(consecutive !== undefined && { consecutive }),
  };
}

/**
 * A command action from any door's decoded input: the name, payload (JSON text or value, at most
 * 32 KB and 8 levels) and timeout follow the command model's own rules; `onStates` defaults to
 * ACTIVE. Errors name the field under `field`.
 */
export function validateCommandAction(value: unknown, field = 'command'): AlarmCommandAction {
  const input = record(value, field);
  const nested = <T>(name: string, check: () => T): T => {
    try {
      return check();
    } catch (error) {
      if (error instanceof ValidationError) throw new ValidationError(`${field}.${error.message}`, `${field}.${name}`, { cause: error });
      throw error;
    }
  };
  const name = nested('name', () => validateCommandName(input.name));
  const payload = nested('payload', () => validatePayload(input.payload));
  const timeoutSeconds = nested('timeoutSeconds', () => validateTimeoutSeconds(input.timeoutSeconds));
  let onStates: AlarmState[] = ['ACTIVE'];
  if (input.onStates !== undefined && input.onStates !== null) {
    if (!Array.isArray(input.onStates) || input.onStates.length === 0) throw new ValidationError(`${field}.onStates must be a non-empty list of alarm states`, `${field}.onStates`);
    onStates = [...new Set(input.onStates.map((s) => oneOf(s, ALARM_STATES, `${field}.onStates`)))];
  }
  return { name, payload, timeoutSeconds, onStates };
}

/** Validates a whole rule; throws a ValidationError naming the first broken field. */
export function validateRuleInput(input: AlarmRuleInput): AlarmRuleSpec {
  const name = text(input.name, 'name', RULE_LIMITS.maxNameLength, true);
  const description = text(input.description, 'description', RULE_LIMITS.maxDescriptionLength, false);
  const severity = oneOf(input.severity, ALARM_SEVERITIES, 'severity');
  const target = validateTarget(input.target);
  const condition = validateCondition(input.condition);
  const ackRequired = flag(input.ackRequired, 'ackRequired', true);
  const latch = flag(input.latch, 'latch', false);
  if (latch && !ackRequired) throw new ValidationError('latch needs ackRequired: a latched alarm is only released by an acknowledgement', 'latch');
  const notify = flag(input.notify, 'notify', true);
  const command = input.command === undefined || input.command === null ? undefined : validateCommandAction(input.command);
  return { name, description, severity, target, condition, latch, ackRequired, notify, ...(command && { command }) };
}

/** Whether `rule` watches a device of this id and type. */
export function ruleTargets(rule: Pick<AlarmRule, 'target'>, device: { readonly id: string; readonly type: string }): boolean {
  const { target } = rule;
  return target.kind === 'ALL' || (target.kind === 'DEVICE' ? target.deviceId === device.id : target.deviceType === device.type);
}

/** Whether `value OP threshold` holds. */
export function compare(value: number, operator: ComparisonOperator, threshold: number): boolean {
  switch (operator) {
    case 'GT':
      return value > threshold;
    case 'GE':
      return value >= threshold;
    case 'LT':
      return value < threshold;
    case 'LE':
      return value <= threshold;
    case 'EQ':
      return value === threshold;
    case 'NE':
      return value !== threshold;
  }
}

/** A one-line statement of a condition, e.g. `temperature > 30 for 300 s`. */
export function describeCondition(condition: AlarmCondition): string {
  if (condition.kind === 'NO_DATA') return condition.metric === undefined ? `no data for ${condition.seconds} s` : `no ${condition.metric} for ${condition.seconds} s`;
  const hold = condition.forSeconds ? ` for ${condition.forSeconds} s` : condition.consecutive ? ` for ${condition.consecutive} readings` : '';
  return `${condition.metric} ${OPERATOR_SYMBOLS[condition.operator]} ${condition.threshold}${hold}`;
}
