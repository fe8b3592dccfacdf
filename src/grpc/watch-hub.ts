/**
 * The one server-streaming watch of the service (WatchDevices, WatchCommands, WatchAlarms):
 * relays every event of a source to the stream, filtered by device id. Each stream has a bounded
 * queue in front of grpc-js' own writable buffer: while `call.write` reports backpressure, events
 * queue up; a consumer that falls `maxQueued` events behind gets RESOURCE_EXHAUSTED and its
 * stream ends, so memory per stream never grows without bound. One log line per stream.
 */
import { Metadata, type ServerWritableStream, type StatusObject } from '@grpc/grpc-js';
import { ValidationError } from '../domain/errors.js';
import { validateDeviceId } from '../domain/validation.js';
import { callerIdOf } from './auth-interceptor.js';
import { cancelCode, rejectRequest, type CallContext } from './call-guard.js';
import { REFUSAL_CODES, statusName, toGrpcStatus } from './error-mapper.js';

/** At most this many device ids in one watch filter. */
export const MAX_WATCH_IDS = 1000;

/** Events queued per stream beyond grpc-js' buffer before RESOURCE_EXHAUSTED, unless configured. */
export const DEFAULT_MAX_QUEUED = 256;

/** How a stream ends. */
export type StreamStatus = Pick<StatusObject, 'code' | 'details'>;

/** Where a watch gets its events; `connected: false` means events may be missed right now. */
export interface WatchSource<Event> {
  subscribe(listener: (event: Event) => void): () => void;
  readonly connected?: boolean;
}

/** What distinguishes one watch RPC from another. */
export interface WatchSpec<Event, Response> {
  /** The RPC name in log lines. */
  readonly method: string;
  /** What the events are called in the RESOURCE_EXHAUSTED details ("changes", "transitions"). */
  readonly unit: string;
  readonly deviceOf: (event: Event) => string;
  /** The message for one event; called once per event and stream unless the spec caches it. */
  readonly toMessage: (event: Event) => Response;
  /** Why a stream is refused while the source is not connected. */
  readonly unavailable?: StreamStatus;
  /** @default DEFAULT_MAX_QUEUED */
  readonly maxQueued?: number;
}

/** Serves one watch RPC's streams and can end them all (graceful shutdown, lost subscription). */
export class BoundedWatchHub<Event, Response> {
  private readonly streams = new Set<(status: StreamStatus) => void>();
  // Streams whose final status has not been handed to grpc-js yet (shutdown waits for them).
  private readonly open = new Set<object>();
  private readonly maxQueued: number;

  constructor(
    private readonly source: WatchSource<Event>,
    private readonly context: CallContext,
    private readonly spec: WatchSpec<Event, Response>,
  ) {
    this.maxQueued = spec.maxQueued ?? DEFAULT_MAX_QUEUED;
  }

  /** Number of streams not yet finished. */
  get size(): number {
    return this.open.size;
  }

  /** Ends every open stream with `status`. */
  closeAll(status: StreamStatus): void {
    for (const close of [...this.streams]) close(status);
  }

  /** The RPC handler. */
  readonly handle = (call: ServerWritableStream<{ deviceIds: string[] }, Response>): void => {
    const started = performance.now();
    let ended = false;
    let delivered = 0;
    let filter: Set<string> | undefined;
    const caller = callerIdOf(call.metadata);
    const log = (code: number, details?: string): void =>
      this.context.log.info('rpc', {
        method: this.spec.method,
        code: statusName(code),
        caller,
        // The filter, not every id: a 1,000-id filter would make the line huge.
        ...(filter && { deviceIds: filter.size <= 10 ? [...filter] : `${filter.size} ids` }),
        durationMs: Math.round(performance.now() - started),
        delivered,
        ...(details && { details }),
      });
    const refuse = (status: StreamStatus): void => {
      call.emit('error', status);
      log(status.code, status.details);
    };

    const refused = rejectRequest(call.request, call.metadata);
    if (refused) return refuse(refused);
    try {
      filter = idFilter(call.request.deviceIds);
    } catch (error) {
      return refuse(toGrpcStatus(error));
    }
    // A stream opened while the subscription is down would silently miss events.
    if (this.source.connected === false && this.spec.unavailable) return refuse(this.spec.unavailable);

    const queue: Response[] = [];
    let writable = true;
    const finish = (status?: StreamStatus): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      this.streams.delete(finish);
      call.removeListener('drain', drain);
      queue.length = 0;
      if (status) refuse(status);
      else log(cancelCode(call));
    };
    const drain = (): void => {
      writable = true;
      while (writable && queue.length > 0 && !ended) {
        writable = call.write(queue.shift()!);
        delivered += 1;
      }
    };
    const onEvent = (event: Event): void => {
      if (ended || (filter && !filter.has(this.spec.deviceOf(event)))) return;
      const message = this.spec.toMessage(event);
      if (writable && queue.length === 0) {
        writable = call.write(message);
        delivered += 1;
        return;
      }
      queue.push(message);
      if (queue.length > this.maxQueued) {
        finish({ code: REFUSAL_CODES.consumerTooSlow, details: `consumer fell more than ${this.maxQueued} ${this.spec.unit} behind` });
      }
    };

    const unsubscribe = this.source.subscribe(onEvent);
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
    // Headers now, so a watcher knows it is subscribed before the first event arrives.
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
