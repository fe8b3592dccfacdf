/**
 * WatchDevices: relays every change from a ChangeSource to the stream, filtered by device id.
 * Each stream has a bounded queue in front of grpc-js' own writable buffer: while `call.write`
 * reports backpressure, changes queue up; a consumer that falls `maxQueued` changes behind gets
 * RESOURCE_EXHAUSTED and its stream ends, so memory per stream never grows without bound.
 */
import { Metadata, type ServerWritableStream, type StatusObject } from '@grpc/grpc-js';
import type { DeviceChange } from '../domain/device-change.js';
import { ValidationError } from '../domain/errors.js';
import { validateDeviceId } from '../domain/validation.js';
import type { WatchDevicesRequest__Output } from '../generated/proto/iot/device/v1/WatchDevicesRequest.js';
import type { WatchDevicesResponse } from '../generated/proto/iot/device/v1/WatchDevicesResponse.js';
import type { ChangeSource } from '../ports/change-feed.js';
import type { BusConnection } from '../ports/message-bus.js';
import { callerIdOf } from './auth-interceptor.js';
import { cancelCode, rejectRequest, type CallContext } from './call-guard.js';
import { statusName, toGrpcStatus, REFUSAL_CODES } from './error-mapper.js';
import { toWatchResponse } from './device-mapper.js';
import { encodeWatchResponse } from './proto.js';

/** Status of a stream ended (or refused) because the change subscription is down. */
export const CHANGES_UNAVAILABLE = {
  code: REFUSAL_CODES.changesUnavailable,
  details: 'change feed subscription lost: changes may have been missed; list devices again, then watch again',
} as const;

/** At most this many device ids in one WatchDevices filter. */
export const MAX_WATCH_IDS = 1000;

/** Options of {@link WatchHub}. */
export interface WatchOptions {
  /** Changes queued per stream beyond grpc-js' buffer before RESOURCE_EXHAUSTED. @default 256 */
  readonly maxQueued?: number;
}

type WatchCall = ServerWritableStream<WatchDevicesRequest__Output, WatchDevicesResponse>;

/** Serves WatchDevices streams and can end them all (graceful shutdown). */
export class WatchHub {
  private readonly streams = new Set<(status: Pick<StatusObject, 'code' | 'details'>) => void>();
  // Streams whose final status has not been handed to grpc-js yet (shutdown waits for them).
  private readonly open = new Set<WatchCall>();
  private readonly maxQueued: number;
  // One conversion and encoding per change, shared by every stream.
  private readonly converted = new WeakMap<DeviceChange, WatchDevicesResponse>();

  constructor(
    private readonly source: ChangeSource & Partial<BusConnection>,
    private readonly context: CallContext,
    options: WatchOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 256;
  }

  /** Number of streams not yet finished. */
  get size(): number {
    return this.open.size;
  }

  /** Ends every open stream with `status`. */
  closeAll(status: Pick<StatusObject, 'code' | 'details'>): void {
    for (const close of [...this.streams]) close(status);
  }

  /** The WatchDevices handler. */
  readonly handle = (call: WatchCall): void => {
    const started = performance.now();
    let ended = false;
    let delivered = 0;
    const caller = callerIdOf(call.metadata);
    const log = (code: number, details?: string): void =>
      this.context.log.info('rpc', {
        method: 'WatchDevices',
        code: statusName(code),
        caller,
        // The filter, not every id: a 1,000-id filter would make the line huge.
        ...(filter && { deviceIds: filter.size <= 10 ? [...filter] : `${filter.size} ids` }),
        durationMs: Math.round(performance.now() - started),
        delivered,
        ...(details && { details }),
      });

    const refused = rejectRequest(call.request, call.metadata);
    let filter: Set<string> | undefined;
    try {
      if (!refused) filter = idFilter(call.request.deviceIds);
    } catch (error) {
      const status = toGrpcStatus(error);
      call.emit('error', status);
      return log(status.code, status.details);
    }
    if (refused) {
      call.emit('error', refused);
      return log(refused.code, refused.details);
    }
    // A stream opened while the subscription is down would silently miss changes.
    if (this.source.connected === false) {
      call.emit('error', CHANGES_UNAVAILABLE);
      return log(CHANGES_UNAVAILABLE.code, CHANGES_UNAVAILABLE.details);
    }

    const queue: WatchDevicesResponse[] = [];
    let writable = true;
    const finish = (status?: Pick<StatusObject, 'code' | 'details'>): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      this.streams.delete(finish);
      call.removeListener('drain', drain);
      queue.length = 0;
      if (status) {
        call.emit('error', status);
        log(status.code, status.details);
      } else {
        log(cancelCode(call));
      }
    };
    const drain = (): void => {
      writable = true;
      while (writable && queue.length > 0 && !ended) {
        writable = call.write(queue.shift()!);
        delivered += 1;
      }
    };
    const onChange = (change: DeviceChange): void => {
      if (ended || (filter && !filter.has(change.device.id))) return;
      let message = this.converted.get(change);
      if (!message) {
        message = encodeWatchResponse(toWatchResponse(change));
        this.converted.set(change, message);
      }
      if (writable && queue.length === 0) {
        writable = call.write(message);
        delivered += 1;
        return;
      }
      queue.push(message);
      if (queue.length > this.maxQueued) {
        finish({ code: REFUSAL_CODES.consumerTooSlow, details: `consumer fell more than ${this.maxQueued} changes behind` });
      }
    };

    const unsubscribe = this.source.subscribe(onChange);
    this.streams.add(finish);
    this.open.add(call);
    const closed = (): void => {
      this.open.delete(call);
    };
    call.once('finish', closed);
    call.once('close', closed);
    call.once('cancelled', closed);
    call.on('drain', drain);
    call.once('cancelled', () => finish());
    // Headers now, so a watcher knows it is subscribed before the first change arrives.
    call.sendMetadata(new Metadata());
  };
}

/** The device-id filter of a watch request; undefined means every device. */
export function idFilter(ids: readonly string[]): Set<string> | undefined {
  if (ids.length === 0) return undefined;
  if (ids.length > MAX_WATCH_IDS) {
    throw new ValidationError(`device_ids has ${ids.length} entries; at most ${MAX_WATCH_IDS} allowed`, 'device_ids');
  }
  return new Set(ids.map((id, i) => validateDeviceId(id, `device_ids[${i}]`)));
}
