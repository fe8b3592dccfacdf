/**
 * Alarm transitions in the GraphQL schema's shapes: what the GraphQL door returns and what the
 * AppSync publisher sends as publishAlarmUpdate's input. Shared here so that the adapter does not
 * import the door.
 */
import type { AlarmNotification } from '../alarms/alarm-notification.js';
import type { AlarmTransition as DomainTransition } from '../alarms/alarm-state.js';
import type { AlarmTransition, AlarmUpdateInput } from '../generated/graphql/types.js';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** A transition in the schema's shape. */
export function toGraphqlTransition(t: DomainTransition): AlarmTransition {
  return {
    rev: t.rev,
    from: t.from,
    to: t.to,
    at: t.at,
    eventTime: iso(t.eventTime),
    value: t.value ?? null,
    reason: t.reason,
    actor: t.actor,
    note: t.note ?? null,
    ruleVersion: t.ruleVersion,
  };
}

/** The publishAlarmUpdate input for a published transition. */
export function toAlarmUpdateInput(n: AlarmNotification): AlarmUpdateInput {
  return { id: n.alarmId, deviceId: n.deviceId, ruleId: n.ruleId, ruleName: n.ruleName, severity: n.severity, state: n.to, transition: toGraphqlTransition(n) };
}

