/**
 * Conversions between the domain model and the generated proto types. Request fields are
 * turned into use-case inputs here; every rule is left to the domain core's validation.
 */
import type { Device, DeviceStats, DeviceStatus, ReadingValue } from '../domain/device.js';
import { isDeviceStatus } from '../domain/device.js';
import type { DeviceChange } from '../domain/device-change.js';
import type { CreateDeviceInput, ListDevicesInput, UpdateDeviceInput } from '../domain/device-registry.js';
import { ValidationError } from '../domain/errors.js';
import type { Timestamp } from '../generated/proto/google/protobuf/Timestamp.js';
import type { Struct } from '../generated/proto/google/protobuf/Struct.js';
import type { Value } from '../generated/proto/google/protobuf/Value.js';
import type { CreateDeviceRequest__Output } from '../generated/proto/iot/device/v1/CreateDeviceRequest.js';
import type { Device as ProtoDevice, Device__Output as ProtoDeviceOutput } from '../generated/proto/iot/device/v1/Device.js';
import type { DeviceStats as ProtoDeviceStats } from '../generated/proto/iot/device/v1/DeviceStats.js';
import type { DeviceStatus as ProtoDeviceStatus } from '../generated/proto/iot/device/v1/DeviceStatus.js';
import type { ListDevicesRequest__Output } from '../generated/proto/iot/device/v1/ListDevicesRequest.js';
import type { ListDevicesResponse } from '../generated/proto/iot/device/v1/ListDevicesResponse.js';
import type { UpdateDeviceRequest__Output } from '../generated/proto/iot/device/v1/UpdateDeviceRequest.js';
import type { WatchDevicesResponse } from '../generated/proto/iot/device/v1/WatchDevicesResponse.js';
import type { DeviceListPage } from '../domain/device-registry.js';

const STATUS_PREFIX = 'DEVICE_STATUS_';
const UPDATABLE_FIELDS = ['name', 'type', 'status', 'metadata'] as const;
type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

/** A domain device as the proto message. */
export function toProtoDevice(device: Device): ProtoDevice {
  return {
    id: device.id,
    name: device.name,
    type: device.type,
    status: `${STATUS_PREFIX}${device.status}` as ProtoDeviceStatus,
    createdAt: toTimestamp(device.createdAt),
    updatedAt: toTimestamp(device.updatedAt),
    lastSeen: device.lastSeen ? toTimestamp(device.lastSeen) : null,
    metadata: { ...device.metadata },
    // int64 fields as numbers: the serializer turns a number into a Long without parsing text.
    version: device.version,
    readings: toStruct(device.readings),
    twinVersion: device.twinVersion ?? 0,
  };
}

/** A page of devices as the ListDevices response; total_size is -1 when unknown. */
export function toListResponse(page: DeviceListPage): ListDevicesResponse {
  return {
    devices: page.items.map(toProtoDevice),
    nextPageToken: page.nextPageToken ?? '',
    totalSize: page.total === undefined ? '-1' : String(page.total),
  };
}

/** Fleet counters as the proto message. */
export function toProtoStats(stats: DeviceStats, activeAlarms: Readonly<Record<string, number>> = {}): ProtoDeviceStats {
  return {
    activeAlarmsBySeverity: Object.fromEntries(Object.entries(activeAlarms).map(([k, v]) => [k, String(v)])),
    total: String(stats.total),
    online: String(stats.byStatus.ONLINE ?? 0),
    byStatus: Object.fromEntries(Object.entries(stats.byStatus).map(([k, v]) => [k, String(v)])),
    byType: Object.fromEntries(Object.entries(stats.byType).map(([k, v]) => [k, String(v)])),
  };
}

const CHANGE_TYPES = { CREATED: 'CHANGE_TYPE_CREATED', UPDATED: 'CHANGE_TYPE_UPDATED', DELETED: 'CHANGE_TYPE_DELETED' } as const;

/** A registry change as one WatchDevices message. */
export function toWatchResponse(change: DeviceChange): WatchDevicesResponse {
  return {
    changeType: CHANGE_TYPES[change.changeType] ?? 'CHANGE_TYPE_UNSPECIFIED',
    device: toProtoDevice(change.device),
    changeTime: toTimestamp(change.changedAt),
    sequence: change.sequence,
  };
}

/** CreateDevice request → use-case input. UNKNOWN status means "not given". */
export function toCreateInput(request: CreateDeviceRequest__Output): CreateDeviceInput {
  const device = request.device;
  if (!device) throw new ValidationError('device is required', 'device');
  const status = fromProtoStatus(device.status, 'device.status');
  return {
    ...(request.deviceId !== '' && { id: request.deviceId }),
    name: device.name,
    type: device.type,
    ...(status !== 'UNKNOWN' && { status }),
    metadata: device.metadata,
  };
}

/** UpdateDevice request → use-case input; an empty mask means every updatable field. */
export function toUpdateInput(request: UpdateDeviceRequest__Output): UpdateDeviceInput {
  const device = request.device;
  if (!device) throw new ValidationError('device is required', 'device');
  const fields = maskFields(request.updateMask?.paths ?? []);
  const input: UpdateDeviceInput = { id: device.id };
  if (fields.has('name')) input.name = device.name;
  if (fields.has('type')) input.type = device.type;
  if (fields.has('status')) input.status = fromProtoStatus(device.status, 'device.status');
  if (fields.has('metadata')) input.metadata = device.metadata;
  const version = fromInt64(device.version, 'device.version');
  if (version !== 0) input.expectedVersion = version;
  return input;
}

/** ListDevices request → use-case input; zero/empty fields mean "not given". */
export function toListInput(request: ListDevicesRequest__Output): ListDevicesInput {
  return {
    ...(request.pageSize !== 0 && { limit: request.pageSize }),
    ...(request.pageToken !== '' && { pageToken: request.pageToken }),
    ...(request._status === 'status' && request.status !== undefined && { status: fromProtoStatus(request.status, 'status') }),
    ...(request.type !== '' && { type: request.type }),
  };
}

/** An int64 sent as a decimal string (longs: String) as a safe integer. */
export function fromInt64(value: string, field: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError(`${field} must be a non-negative integer`, field);
  return n;
}

function fromProtoStatus(value: ProtoDeviceOutput['status'] | number, field: string): DeviceStatus {
  const name = typeof value === 'string' && value.startsWith(STATUS_PREFIX) ? value.slice(STATUS_PREFIX.length) : undefined;
  if (!isDeviceStatus(name)) throw new ValidationError(`${field} is not a known DeviceStatus`, field);
  return name;
}

function maskFields(paths: string[]): Set<UpdatableField> {
  if (paths.length === 0) return new Set(UPDATABLE_FIELDS);
  const fields = new Set<UpdatableField>();
  for (const path of paths) {
    if (!(UPDATABLE_FIELDS as readonly string[]).includes(path)) {
      throw new ValidationError(`update_mask path "${path.slice(0, 64)}" is not one of ${UPDATABLE_FIELDS.join(', ')}`, 'update_mask');
    }
    fields.add(path as UpdatableField);
  }
  return fields;
}

/** An ISO-8601 time as a protobuf Timestamp. */
export function toTimestamp(iso: string): Timestamp {
  const ms = Date.parse(iso);
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

function toStruct(readings: Readonly<Record<string, ReadingValue>>): Struct {
  const fields: Record<string, Value> = {};
  for (const [key, value] of Object.entries(readings)) {
    fields[key] =
      typeof value === 'number' ? { numberValue: value } : typeof value === 'boolean' ? { boolValue: value } : { stringValue: value };
  }
  return { fields };
}
