/**
 * What a transition looks like to everyone outside: the EventBridge event's detail, the SNS
 * message, a line of the local events file, an alarmUpdated / WatchAlarms message. The
 * `source` and `detail-type` are fixed so users can write rules on them (docs/alarms.md).
 */
import type { AlarmTransition } from './alarm-state.js';

export { ALARM_EVENT_DETAIL_TYPE, ALARM_EVENT_SOURCE } from '../contracts/alarms.js';
/** Version of the detail's shape; a breaking change gets a new one. */
export const ALARM_EVENT_SCHEMA_VERSION = 1;

/** One transition as published. `eventId` (`<alarmId>#<rev>`) is the same on every redelivery: deduplicate on it. */
export type AlarmNotification = AlarmTransition & { readonly schemaVersion: typeof ALARM_EVENT_SCHEMA_VERSION; readonly eventId: string };

/** The published form of a transition. */
export function toNotification(transition: AlarmTransition): AlarmNotification {
  return { schemaVersion: ALARM_EVENT_SCHEMA_VERSION, eventId: `${transition.alarmId}#${transition.rev}`, ...transition };
}

/** A place transitions are published to. */
export interface AlarmPublisher {
  publish(notification: AlarmNotification): Promise<void>;
}

/** JSON Schema (draft 2020-12) of the event detail; docs/alarms.md prints it and a test checks real events against it. */
export const ALARM_EVENT_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:iot-platform:alarm-state-change:v1',
  title: 'Alarm State Change',
  type: 'object',
  additionalProperties: false,
  required: ['schemaVersion', 'eventId', 'alarmId', 'ruleId', 'ruleName', 'ruleVersion', 'deviceId', 'severity', 'rev', 'from', 'to', 'at', 'reason', 'actor'],
  properties: {
    schemaVersion: { const: 1 },
    eventId: { type: 'string', description: '<alarmId>#<rev>: identical on redelivery' },
    alarmId: { type: 'string', description: '<ruleId>.<deviceId>' },
    ruleId: { type: 'string', format: 'uuid' },
    ruleName: { type: 'string' },
    ruleVersion: { type: 'integer', minimum: 1 },
    deviceId: { type: 'string' },
    severity: { enum: ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] },
    rev: { type: 'integer', minimum: 1, description: 'the alarm transition number, from 1' },
    from: { enum: ['NORMAL', 'ACTIVE', 'ACKNOWLEDGED', 'LATCHED', 'SNOOZE_DISABLED', 'DISABLED'] },
    to: { enum: ['NORMAL', 'ACTIVE', 'ACKNOWLEDGED', 'LATCHED', 'SNOOZE_DISABLED', 'DISABLED'] },
    at: { type: 'string', format: 'date-time' },
    eventTime: { type: 'integer', description: 'epoch ms of the reading that caused it' },
    value: { type: 'number' },
    reason: { type: 'string' },
    actor: { type: 'string', description: '"system" or the operator' },
    note: { type: 'string' },
  },
} as const;
