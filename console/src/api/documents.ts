import type { Alarm, AlarmConnection, AlarmUpdate, Device, DeviceChange, DeviceConnection, DeviceStats, TelemetryConnection } from '../../../src/generated/graphql/types';

export type { Alarm, Device, DeviceChange, DeviceStats };

/** Every field of a device the console shows. */
const DEVICE_FIELDS = `
  id name type status createdAt updatedAt lastSeen version twinVersion
  metadata { key value }
  readings { metric numberValue booleanValue stringValue }
`;

export const STATS_QUERY = `query Stats { stats { total online byStatus { status count } byType { type count } activeAlarms { severity count } } }`;
export interface StatsResult {
  stats: DeviceStats;
}

export const DEVICES_QUERY = `query Devices($limit: Int, $nextToken: String, $filter: DeviceFilter) {
  devices(limit: $limit, nextToken: $nextToken, filter: $filter) { items { ${DEVICE_FIELDS} } nextToken total }
}`;
export interface DevicesResult {
  devices: DeviceConnection;
}

export const DEVICE_QUERY = `query Device($id: ID!) { device(id: $id) { ${DEVICE_FIELDS} } }`;
export interface DeviceResult {
  device: Device | null;
}

export const TELEMETRY_QUERY = `query Telemetry($deviceId: ID!, $metric: String!, $from: AWSDateTime!, $to: AWSDateTime!, $limit: Int, $nextToken: String, $resolution: TelemetryResolution) {
  telemetry(deviceId: $deviceId, metric: $metric, from: $from, to: $to, limit: $limit, nextToken: $nextToken, resolution: $resolution) {
    items { timestamp numberValue booleanValue stringValue }
    buckets { start count min max avg }
    nextToken
  }
}`;
export interface TelemetryResult {
  telemetry: TelemetryConnection;
}

export const CREATE_DEVICE = `mutation CreateDevice($input: CreateDeviceInput!) { createDevice(input: $input) { ${DEVICE_FIELDS} } }`;
export interface CreateDeviceResult {
  createDevice: Device;
}

export const UPDATE_DEVICE = `mutation UpdateDevice($input: UpdateDeviceInput!) { updateDevice(input: $input) { ${DEVICE_FIELDS} } }`;
export interface UpdateDeviceResult {
  updateDevice: Device;
}

export const DELETE_DEVICE = `mutation DeleteDevice($id: ID!, $expectedVersion: Int) { deleteDevice(id: $id, expectedVersion: $expectedVersion) { id } }`;

export const DEVICE_UPDATED = `subscription DeviceUpdated($id: ID) { deviceUpdated(id: $id) { id changeType changedAt sequence device { ${DEVICE_FIELDS} } } }`;
export interface DeviceUpdatedResult {
  deviceUpdated: DeviceChange | null;
}

export const DEVICE_ALARMS_QUERY = `query DeviceAlarms($deviceId: ID!) {
  alarms(filter: { deviceId: $deviceId }, limit: 100) {
    items { id ruleId ruleName deviceId severity state changedAt snoozeUntil rev lastTransition { at reason actor note } }
  }
}`;
export interface DeviceAlarmsResult {
  alarms: AlarmConnection;
}

export const ALARM_UPDATED = `subscription AlarmUpdated($deviceId: ID) { alarmUpdated(deviceId: $deviceId) { id deviceId severity state } }`;
export interface AlarmUpdatedResult {
  alarmUpdated: Pick<AlarmUpdate, 'id' | 'deviceId' | 'severity' | 'state'> | null;
}

export const ACKNOWLEDGE_ALARM = `mutation AcknowledgeAlarm($id: ID!, $note: String) { acknowledgeAlarm(id: $id, note: $note) { id state } }`;
export interface AcknowledgeAlarmResult {
  acknowledgeAlarm: Pick<Alarm, 'id' | 'state'>;
}

export const TELEMETRY_UPDATED = `subscription TelemetryUpdated { telemetryUpdated { items { id sequence lastSeen } } }`;
export interface TelemetryUpdatedResult {
  telemetryUpdated: { items: Array<{ id: string; sequence: string; lastSeen?: string | null }> } | null;
}
