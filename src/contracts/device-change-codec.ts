/**
 * The wire form of a registry change on its internal topic (`changeTopic(id)`): what the events
 * Lambda (and locally the change feed relay) publishes and the gRPC service decodes for
 * WatchDevices. JSON of the DeviceChange without `previous`, which no watcher needs and which
 * would double the message.
 */
import { DEVICE_STATUSES, type Device } from '../domain/device.js';
import type { DeviceChange } from '../domain/device-change.js';
import { gunzipSync, gzipSync } from 'node:zlib';
import { changeTopic } from './topics.js';

/** The JSON text of a change as published on its topic (without `watched`, which is the change feed's own). */
export function encodeDeviceChange(change: DeviceChange): string {
  return JSON.stringify(wireForm(change));
}

function wireForm(change: DeviceChange): Omit<DeviceChange, 'previous' | 'watched'> {
  const { previous: _previous, watched: _watched, ...rest } = change;
  return rest;
}

/**
 * One message of telemetry-only changes on TELEMETRY_BATCH_TOPIC: a gzip'd JSON array of the
 * changes in their wire form. Similar devices compress several times over, and IoT bills each
 * Publish and each delivery per started 5 KB.
 */
export function encodeDeviceChangeBatch(changes: readonly DeviceChange[]): Uint8Array {
  return gzipSync(JSON.stringify(changes.map(wireForm)));
}

/** Decodes a batch message; every element must be a valid change (as if on its own device's topic), or none is taken. */
export function decodeDeviceChangeBatch(payload: Uint8Array): { readonly ok: true; readonly changes: DeviceChange[] } | { readonly ok: false; readonly reason: string } {
  let values: unknown;
  try {
    values = JSON.parse(gunzipSync(payload, { maxOutputLength: MAX_BATCH_BYTES }).toString('utf8'));
  } catch {
    return { ok: false, reason: 'not gzip\'d JSON' };
  }
  if (!Array.isArray(values)) return { ok: false, reason: 'not an array' };
  const changes: DeviceChange[] = [];
  for (const value of values) {
    const id = isRecord(value) && isRecord(value.device) ? value.device.id : undefined;
    if (typeof id !== 'string') return { ok: false, reason: 'an element has no device id' };
    const decoded = decodeDeviceChange(changeTopic(id), JSON.stringify(value));
    if (!decoded.ok) return { ok: false, reason: `an element: ${decoded.reason}` };
    changes.push(decoded.change);
  }
  return { ok: true, changes };
}

/** Bound on a batch's decompressed size: far above 100 changes, far below what would hurt the service. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** A decoded change, or why the message is not one. */
export type DecodedDeviceChange = { readonly ok: true; readonly change: DeviceChange } | { readonly ok: false; readonly reason: string };

/**
 * Decodes and checks one message: valid JSON, a known change type, a parseable time, a string
 * sequence and a whole device, published on that device's own topic (so a message on another
 * device's topic cannot pose as its change).
 */
export function decodeDeviceChange(topic: string, payload: Uint8Array | string): DecodedDeviceChange {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return { ok: false, reason: 'not UTF-8 JSON' };
  }
  if (!isRecord(value) || !isRecord(value.device)) return { ok: false, reason: 'no device object' };
  const { changeType, device, changedAt, sequence } = value;
  if (changeType !== 'CREATED' && changeType !== 'UPDATED' && changeType !== 'DELETED') return { ok: false, reason: 'unknown changeType' };
  if (typeof changedAt !== 'string' || Number.isNaN(Date.parse(changedAt))) return { ok: false, reason: 'changedAt is not a time' };
  if (typeof sequence !== 'string') return { ok: false, reason: 'sequence is not a string' };
  if (typeof device.id !== 'string' || topic !== changeTopic(device.id)) return { ok: false, reason: 'not on its device topic' };
  if (typeof device.name !== 'string' || typeof device.type !== 'string') return { ok: false, reason: 'device name or type missing' };
  if (!(DEVICE_STATUSES as readonly unknown[]).includes(device.status)) return { ok: false, reason: 'unknown device status' };
  if (typeof device.createdAt !== 'string' || typeof device.updatedAt !== 'string' || typeof device.version !== 'number') {
    return { ok: false, reason: 'device createdAt, updatedAt or version missing' };
  }
  return {
    ok: true,
    change: {
      changeType,
      changedAt,
      sequence,
      device: {
        ...(device as unknown as Device),
        metadata: isRecord(device.metadata) ? (device.metadata as Record<string, string>) : {},
        readings: isRecord(device.readings) ? (device.readings as Device['readings']) : {},
      },
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
