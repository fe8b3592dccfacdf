import type { Alarm, AlarmConnection, AlarmRule, AlarmTransition } from '../../../src/generated/graphql/types';

export type { Alarm, AlarmRule, AlarmTransition };

const ALARM_FIELDS = 'id ruleId ruleName deviceId severity state changedAt snoozeUntil rev lastTransition { at reason actor note }';

export const ALARMS_QUERY = `query Alarms($filter: AlarmFilter, $limit: Int, $nextToken: String) {
  alarms(filter: $filter, limit: $limit, nextToken: $nextToken) { items { ${ALARM_FIELDS} } nextToken }
}`;
export interface AlarmsResult {
  alarms: AlarmConnection;
}

export const ALARM_HISTORY_QUERY = `query AlarmHistory($id: ID!, $historyNextToken: String) {
  alarm(id: $id, historyLimit: 10, historyNextToken: $historyNextToken) {
    id history { items { rev from to at value reason actor note ruleVersion } nextToken }
  }
}`;
export interface AlarmHistoryResult {
  alarm: (Pick<Alarm, 'id'> & { history?: { items: AlarmTransition[]; nextToken?: string | null } | null }) | null;
}

export const ALL_ALARMS_UPDATED = `subscription AllAlarmsUpdated { alarmUpdated { id state } }`;

export const SNOOZE_ALARM = `mutation SnoozeAlarm($id: ID!, $seconds: Int!, $note: String) { snoozeAlarm(id: $id, seconds: $seconds, note: $note) { id state snoozeUntil } }`;

const RULE_FIELDS = `id name description severity latch ackRequired notify version createdAt updatedAt
  target { kind deviceId deviceType }
  condition { kind metric operator threshold clearThreshold forSeconds consecutive seconds }`;

export const ALARM_RULES_QUERY = `query AlarmRules { alarmRules { ${RULE_FIELDS} } }`;
export interface AlarmRulesResult {
  alarmRules: AlarmRule[];
}

export const CREATE_ALARM_RULE = `mutation CreateAlarmRule($input: AlarmRuleInput!) { createAlarmRule(input: $input) { ${RULE_FIELDS} } }`;
export const UPDATE_ALARM_RULE = `mutation UpdateAlarmRule($id: ID!, $input: AlarmRuleInput!, $expectedVersion: Int) {
  updateAlarmRule(id: $id, input: $input, expectedVersion: $expectedVersion) { ${RULE_FIELDS} }
}`;
export const DELETE_ALARM_RULE = `mutation DeleteAlarmRule($id: ID!) { deleteAlarmRule(id: $id) { id } }`;
