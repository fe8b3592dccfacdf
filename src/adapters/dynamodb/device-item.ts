/**
 * The Devices table item and its mapping to the domain Device. Shared by the registry
 * repository, the change feed (stream images) and the ingest/presence writers.
 */
import { isDeviceStatus, type Device, type ReadingValue } from '../../domain/device.js';

/** Partition key value of the byCreated index: one list of every device. */
export const LIST_PK = 'DEVICE';

/** A device as stored in the Devices table (the attribute names are the table's schema: changing one needs a migration). */
export interface DeviceItem {
  id: string;
  name: string;
  type: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  version: number;
  metadata: Record<string, string>;
  /** Always LIST_PK; key of the byCreated index. */
  listPk: string;
  /** createdAt + '#' + id: sort key of every index, unique and stable. */
  createdKey: string;
  lastSeen?: string;
  readings?: Record<string, ReadingValue>;
  presenceAt?: number;
  presenceVersion?: number;
  disconnectReason?: string;
  /** Raised by every twin change (the twin itself lives in the Twins table). */
  twinVersion?: number;
  /**
   * Certificate binding, written only by DynamoDbDeviceCredentialStore (provisioning) and never
   * mapped into Device, so no registry door can read or write it; registry writes keep it
   * (conditional Put on create, SET of named fields on update).
   */
  certificateId?: string;
  certificateStatus?: 'ACTIVE' | 'REVOKED';
  revokedAt?: string;
  pendingCertificateId?: string;
  rotationStartedAt?: string;
  graceEndsAt?: string;
}

/** The index sort key of a device: creation time, then id, so the order is total and stable. */
export function createdKeyOf(device: Pick<Device, 'createdAt' | 'id'>): string {
  return `${device.createdAt}#${device.id}`;
}

/** The item written when a device is created. */
export function toDeviceItem(device: Device): DeviceItem {
  return {
    id: device.id,
    name: device.name,
    type: device.type,
    status: device.status,
    createdAt: device.createdAt,
    updatedAt: device.updatedAt,
    version: device.version,
    metadata: { ...device.metadata },
    listPk: LIST_PK,
    createdKey: createdKeyOf(device),
    ...(device.lastSeen !== undefined && { lastSeen: device.lastSeen }),
    ...(Object.keys(device.readings).length > 0 && { readings: { ...device.readings } }),
  };
}

/**
 * Whether an (unmarshalled) item is a registry device: the writers of this table may add
 * attributes, and the change feed must skip items that are not devices.
 */
export function isDeviceItem(item: unknown): item is DeviceItem {
  if (typeof item !== 'object' || item === null) return false;
  const i = item as Record<string, unknown>;
  return (
    typeof i.id === 'string' &&
    typeof i.name === 'string' &&
    typeof i.type === 'string' &&
    isDeviceStatus(i.status) &&
    typeof i.createdAt === 'string' &&
    typeof i.updatedAt === 'string' &&
    typeof i.version === 'number'
  );
}

/** The domain Device of a stored item; throws when the item is not a device (see isDeviceItem). */
export function fromDeviceItem(item: Readonly<Record<string, unknown>> | DeviceItem): Device {
  if (!isDeviceItem(item)) throw new Error(`Devices table item ${String((item as { id?: unknown }).id)} is not a device`);
  return {
    id: item.id,
    name: item.name,
    type: item.type,
    status: item.status as Device['status'],
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    ...(typeof item.lastSeen === 'string' && { lastSeen: item.lastSeen }),
    metadata: stringRecord(item.metadata),
    version: item.version,
    readings: readingRecord(item.readings),
    ...(typeof item.twinVersion === 'number' && { twinVersion: item.twinVersion }),
  };
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function readingRecord(value: unknown): Record<string, ReadingValue> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter(
      (e): e is [string, ReadingValue] => typeof e[1] === 'number' || typeof e[1] === 'boolean' || typeof e[1] === 'string',
    ),
  );
}
