/** Alarm domain values in the GraphQL schema's shapes, and rule input from it. */
import type { AlarmRule as DomainRule, AlarmRuleInput as DomainRuleInput, AlarmSeverity as DomainSeverity } from '../alarms/alarm-rule.js';
import type { AlarmInstance } from '../alarms/alarm-state.js';
import type { Alarm, AlarmRule, AlarmRuleInput, SeverityCount } from '../generated/graphql/types.js';
import { toGraphqlTransition } from '../wire/graphql-alarm.js';
import { ALARM_SEVERITIES } from '../alarms/alarm-rule.js';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** Drops GraphQL nulls so the domain validator sees absent fields as absent. */
function present(input: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined));
}

/** The domain's rule input from the schema's AlarmRuleInput. */
export function fromRuleInput(input: AlarmRuleInput): DomainRuleInput {
  return {
    ...present(input),
    name: input.name,
    severity: input.severity,
    target: input.target ? present(input.target) : input.target,
    condition: input.condition ? present(input.condition) : input.condition,
    ...(input.command && { command: present(input.command) }),
  } as DomainRuleInput;
}

/** A rule in the schema's shape. */
export function toGraphqlRule(rule: DomainRule): AlarmRule {
  const { target, condition } = rule;
  return {
    id: rule.id,
    name: rule.name,
    description: rule.description,
    severity: rule.severity,
    target: { kind: target.kind, deviceId: target.kind === 'DEVICE' ? target.deviceId : null, deviceType: target.kind === 'DEVICE_TYPE' ? target.deviceType : null },
    condition:
      condition.kind === 'NO_DATA'
        ? { kind: condition.kind, seconds: condition.seconds, metric: condition.metric ?? null, operator: null, threshold: null, clearThreshold: null, forSeconds: null, consecutive: null }
        : {
            kind: condition.kind,
            metric: condition.metric,
            operator: condition.operator,
            threshold: condition.threshold,
            clearThreshold: condition.clearThreshold ?? null,
            forSeconds: condition.forSeconds ?? null,
            consecutive: condition.consecutive ?? null,
            seconds: null,
          },
    latch: rule.latch,
    ackRequired: rule.ackRequired,
    notify: rule.notify,
    command: rule.command
      ? { name: rule.command.name, payload: JSON.stringify(rule.command.payload), timeoutSeconds: rule.command.timeoutSeconds, onStates: [...rule.command.onStates] }
      : null,
    version: rule.version,
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}

/** An alarm in the schema's shape (history left null unless the caller fills it). */
export function toGraphqlAlarm(instance: AlarmInstance): Alarm {
  return {
    id: instance.id,
    ruleId: instance.ruleId,
    ruleName: instance.last.ruleName,
    deviceId: instance.deviceId,
    severity: instance.severity,
    state: instance.state,
    changedAt: instance.changedAt,
    snoozeUntil: iso(instance.snoozeUntil),
    rev: instance.rev,
    lastTransition: toGraphqlTransition(instance.last),
    history: null,
  };
}

/** Counts per severity in the schema's shape, loudest first. */
export function toSeverityCounts(counts: Readonly<Record<DomainSeverity, number>>): SeverityCount[] {
  return ALARM_SEVERITIES.map((severity) => ({ severity, count: counts[severity] ?? 0 }));
}
