/** Conversions between the alarm domain and the generated proto types; rules stay with the domain's validation. */
import type { AlarmRule, AlarmRuleInput, AlarmSeverity, ComparisonOperator } from '../alarms/alarm-rule.js';
import type { AlarmInstance, AlarmState, AlarmTransition } from '../alarms/alarm-state.js';
import type { AlarmNotification } from '../alarms/alarm-notification.js';
import { ValidationError } from '../domain/errors.js';
import type { Alarm as ProtoAlarm } from '../generated/proto/iot/device/v1/Alarm.js';
import type { AlarmRule as ProtoRule, AlarmRule__Output as ProtoRuleOutput } from '../generated/proto/iot/device/v1/AlarmRule.js';
import type { AlarmSeverity as ProtoSeverity } from '../generated/proto/iot/device/v1/AlarmSeverity.js';
import type { AlarmState as ProtoState } from '../generated/proto/iot/device/v1/AlarmState.js';
import type { AlarmTransition as ProtoTransition } from '../generated/proto/iot/device/v1/AlarmTransition.js';
import type { ComparisonOperator as ProtoOperator } from '../generated/proto/iot/device/v1/ComparisonOperator.js';
import { toTimestamp } from './device-mapper.js';

const SEVERITY = 'ALARM_SEVERITY_';
const STATE = 'ALARM_STATE_';
const OPERATOR = 'COMPARISON_OPERATOR_';

const unprefix = (value: unknown, prefix: string): string | undefined =>
  typeof value === 'string' && value.startsWith(prefix) && !value.endsWith('_UNSPECIFIED') ? value.slice(prefix.length) : undefined;

/** A proto enum value as the domain's name; UNSPECIFIED becomes undefined (the validator names the field). */
export const fromProtoSeverity = (value: unknown): string | undefined => unprefix(value, SEVERITY);
/** A proto AlarmState as the domain's name, undefined when unset. */
export const fromProtoState = (value: unknown): string | undefined => unprefix(value, STATE);

/** The domain's rule input from a proto AlarmRule (null rule: every field missing). */
export function fromProtoRule(rule: ProtoRuleOutput | null | undefined): AlarmRuleInput {
  if (!rule) throw new ValidationError('rule is required', 'rule');
  const target =
    rule.target === 'deviceId' ? { kind: 'DEVICE', deviceId: rule.deviceId } : rule.target === 'deviceType' ? { kind: 'DEVICE_TYPE', deviceType: rule.deviceType } : rule.target === 'allDevices' && rule.allDevices ? { kind: 'ALL' } : undefined;
  const t = rule.threshold;
  const condition =
    rule.condition === 'noData'
      ? { kind: 'NO_DATA', seconds: rule.noData?.seconds, ...(rule.noData?.metric && { metric: rule.noData.metric }) }
      : rule.condition === 'threshold' && t
        ? {
            kind: 'THRESHOLD',
            metric: t.metric,
            operator: unprefix(t.operator, OPERATOR),
            threshold: t.threshold,
            ...(t._clearThreshold && { clearThreshold: t.clearThreshold }),
            ...(t._forSeconds && { forSeconds: t.forSeconds }),
            ...(t._consecutive && { consecutive: t.consecutive }),
          }
        : undefined;
  return {
    name: rule.name,
    description: rule.description,
    severity: fromProtoSeverity(rule.severity),
    target: target ?? null,
    condition: condition ?? null,
    latch: rule.latch,
    ...(rule._ackRequired && { ackRequired: rule.ackRequired }),
    ...(rule._notify && { notify: rule.notify }),
    ...(rule.command && {
      command: {
        name: rule.command.name,
        payload: rule.command.payloadJson === '' ? undefined : rule.command.payloadJson,
        timeoutSeconds: rule.command.timeoutSeconds,
        // UNSPECIFIED stays in the list as undefined, so the validator names it.
        ...(rule.command.onStates.length > 0 && { onStates: rule.command.onStates.map((s) => fromProtoState(s) ?? String(s)) }),
      },
    }),
  };
}

/** A domain rule as the proto message. */
export function toProtoRule(rule: AlarmRule): ProtoRule {
  const { target, condition } = rule;
  return {
    id: rule.id,
    name: rule.name,
    description: rule.description,
    severity: `${SEVERITY}${rule.severity}` as ProtoSeverity,
    ...(target.kind === 'DEVICE' ? { deviceId: target.deviceId } : target.kind === 'DEVICE_TYPE' ? { deviceType: target.deviceType } : { allDevices: true }),
    ...(condition.kind === 'NO_DATA'
      ? { noData: { seconds: condition.seconds, metric: condition.metric ?? '' } }
      : {
          threshold: {
            metric: condition.metric,
            operator: `${OPERATOR}${condition.operator satisfies ComparisonOperator}` as ProtoOperator,
            threshold: condition.threshold,
            ...(condition.clearThreshold !== undefined && { clearThreshold: condition.clearThreshold }),
            ...(condition.forSeconds !== undefined && { forSeconds: condition.forSeconds }),
            ...(condition.consecutive !== undefined && { consecutive: condition.consecutive }),
          },
        }),
    latch: rule.latch,
    ackRequired: rule.ackRequired,
    notify: rule.notify,
    ...(rule.command && {
      command: {
        name: rule.command.name,
        payloadJson: JSON.stringify(rule.command.payload),
        timeoutSeconds: rule.command.timeoutSeconds,
        onStates: rule.command.onStates.map((s) => `${STATE}${s}` as ProtoState),
      },
    }),
    version: String(rule.version),
    createdAt: toTimestamp(rule.createdAt),
    updatedAt: toTimestamp(rule.updatedAt),
  };
}

const state = (s: AlarmState) => `${STATE}${s}` as ProtoState;
const severity = (s: AlarmSeverity) => `${SEVERITY}${s}` as ProtoSeverity;

/** A transition as the proto message. */
export function toProtoTransition(t: AlarmTransition | AlarmNotification): ProtoTransition {
  return {
    alarmId: t.alarmId,
    ruleId: t.ruleId,
    ruleName: t.ruleName,
    ruleVersion: String(t.ruleVersion),
    deviceId: t.deviceId,
    severity: severity(t.severity),
    rev: String(t.rev),
    from: state(t.from),
    to: state(t.to),
    at: toTimestamp(t.at),
    eventTime: t.eventTime === undefined ? null : toTimestamp(new Date(t.eventTime).toISOString()),
    ...(t.value !== undefined && { value: t.value }),
    reason: t.reason,
    actor: t.actor,
    note: t.note ?? '',
  };
}

/** An alarm as the proto message. */
export function toProtoAlarm(instance: AlarmInstance): ProtoAlarm {
  return {
    id: instance.id,
    ruleId: instance.ruleId,
    deviceId: instance.deviceId,
    severity: severity(instance.severity),
    state: state(instance.state),
    rev: String(instance.rev),
    changedAt: toTimestamp(instance.changedAt),
    snoozeUntil: instance.snoozeUntil === undefined ? null : toTimestamp(new Date(instance.snoozeUntil).toISOString()),
    lastTransition: toProtoTransition(instance.last),
  };
}
