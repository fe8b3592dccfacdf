/**
 * WatchDevices: every change from a ChangeSource, filtered by device id, through the bounded
 * watch hub. Each change is converted and encoded once, whatever the number of streams.
 */
import type { DeviceChange } from '../domain/device-change.js';
import type { WatchDevicesResponse } from '../generated/proto/iot/device/v1/WatchDevicesResponse.js';
import type { ChangeSource } from '../ports/change-feed.js';
import type { BusConnection } from '../ports/message-bus.js';
import type { CallContext } from './call-guard.js';
import { toWatchResponse } from './device-mapper.js';
import { REFUSAL_CODES } from './error-mapper.js';
import { encodeWatchResponse } from './proto.js';
import { BoundedWatchHub } from './watch-hub.js';

/** Status of a stream ended (or refused) because the change subscription is down. */
export const CHANGES_UNAVAILABLE = {
  code: REFUSAL_CODES.changesUnavailable,
  details: 'change feed subscription lost: changes may have been missed; list devices again, then watch again',
} as const;

/** Options of the watch hubs. */
export interface WatchOptions {
  /** Events queued per stream beyond grpc-js' buffer before RESOURCE_EXHAUSTED. @default 256 */
  readonly maxQueued?: number;
  /** Streams written per turn of the event loop during one event's fan-out. @default DEFAULT_FANOUT_CHUNK */
  readonly fanoutChunk?: number;
}

/** The WatchDevices streams. */
export type WatchHub = BoundedWatchHub<DeviceChange, WatchDevicesResponse>;

/** The WatchDevices hub over `source`. */
export function watchDevicesHub(source: ChangeSource & Partial<BusConnection>, context: CallContext, options: WatchOptions = {}): WatchHub {
  return new BoundedWatchHub(source, context, {
    method: 'WatchDevices',
    unit: 'changes',
    deviceOf: (change) => change.device.id,
    // The hub converts each change once; the encoded bytes are written to every stream as they are.
    toMessage: (change) => encodeWatchResponse(toWatchResponse(change)),
    unavailable: CHANGES_UNAVAILABLE,
    ...(options.maxQueued !== undefined && { maxQueued: options.maxQueued }),
    ...(options.fanoutChunk !== undefined && { chunk: options.fanoutChunk }),
  });
}
