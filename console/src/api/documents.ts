import type { Device, DeviceChange, DeviceConnection, DeviceStats, TelemetryConnection } from '../../../src/generated/graphql/types';

export type { Device, DeviceChange, DeviceStats };

/** Every field of a device the console shows. */
const DEVICE_FIELDS = `
  id name type status createdAt updatedAt lastSeen version
  metadata { key value }
  readings { metric numberValue booleanValue stringValue }
`;

export const STATS_QUERY = `query Stats { stats { total online byStatus { status count } byType { type count } } }`;
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

export const TELEMETRY_QUERY = `query Telemetry($deviceId: ID!, $metric: String!, $from: AWSDateTime!, $to: AWSDateTime!, $limit: Int, $nextToken: String) {
  telemetry(deviceId: $deviceId, metric: $metric, from: $from, to: $to, limit: $limit, nextToken: $nextToken) {
    items { timestamp numberValue booleanValue stringValue } nextToken
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

export const DEVICE_UPDATED = `subscription DeviceUpdated($id: ID) { deviceUpdated(id: $id) { id changeType changedAt device { ${DEVICE_FIELDS} } } }`;
export interface DeviceUpdatedResult {
  deviceUpdated: DeviceChange | null;
}
