/**
 * Wire form of telemetry-only change batches on the internal IoT topic: a gzip'd JSON array of
 * changes, each as on the per-device topic. A batch of similar devices compresses several
 * times over, and IoT bills each Publish and each delivery per started 5 KB.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DeviceChange } from '../domain/device-change.js';

/** The wire form of one change: without `previous` (watchers need the state, not the diff) and `watched`. */
export function changeWire(change: DeviceChange): Omit<DeviceChange, 'previous' | 'watched'> {
  const { previous: _previous, watched: _watched, ...rest } = change;
  return rest;
}

/** One batch payload. */
export function encodeChangeBatch(changes: readonly DeviceChange[]): Buffer {
  return gzipSync(JSON.stringify(changes.map(changeWire)));
}

/** The elements of a batch payload (each still to be validated as a change), or undefined when it is not one. */
export function decodeChangeBatch(payload: Buffer): unknown[] | undefined {
  try {
    const value: unknown = JSON.parse(gunzipSync(payload, { maxOutputLength: 16 * 1024 * 1024 }).toString('utf8'));
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
