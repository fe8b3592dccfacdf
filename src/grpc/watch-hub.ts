/**
 * The one server-streaming watch of the service (WatchDevices, WatchCommands, WatchAlarms):
 * relays every event of a source to the streams that asked for its device. Each stream has a
 * bounded queue in front of grpc-js' own writable buffer: while `call.write` reports
 * backpressure, events queue up; a consumer that falls `maxQueued` events behind gets
 * RESOURCE_EXHAUSTED and its stream ends, so memory per stream never grows without bound. One log
 * line per stream.
 *
 * The hub holds one subscription to the source, not one per stream, and indexes the streams by
 * the device ids they filter on: an event costs its conversion once and a write per interested
 * stream, never a filter test per open stream. A fan-out to more than `chunk` streams yields to
 * the event loop between chunks: with 10,000 streams the writes of one event take a few hundred
 * milliseconds of CPU, and unary calls would otherwise wait behind all of them. Events that
 * arrive meanwhile wait in order, so each stream still sees its events in source order.
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

/**
 * Streams written per turn of the event loop. About 2-5 ms of writes on the development machine,
 * so a unary call arriving during a 10,000-stream fan-out waits for one chunk, not all of them.
 */
export const DEFAULT_FANOUT_CHUNK = 500;

/**
 * Events waiting behind a fan-out in progress beyond which the hub stops yielding until it has
 * caught up: the source is then read no faster than the streams are written, so this waiting
 * list stays bounded (by this plus what one turn of the event loop brings).
 */
export const MAX_WAITING_EVENTS = 64;

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
  /** The message for one event; called once per event, whatever the number of streams. */
  readonly toMessage: (event: Event) => Response;
  /** Why a stream is refused while the source is not connected. */
  readonly unavailable?: StreamStatus;
  /** @default DEFAULT_MAX_QUEUED */
  readonly maxQueued?: number;
  /** @default DEFAULT_FANOUT_CHUNK */
  readonly chunk?: number;
}

type WatchCall<Response> = ServerWritableStream<{ deviceIds: string[] }, Response>;

/** What a stream needs from its hub. */
interface WatcherOwner<Response> {
  readonly maxQueued: number;
  readonly spec: Pick<WatchSpec<unknown, unknown>, 'method' | 'unit'>;
  readonly context: CallContext;
  remove(watcher: Watcher<Response>): void;
}

/** One open stream: its filter, its bounded queue and its log line. */
class Watcher<Response> {
  ended = false;
  private delivered = 0;
  private writable = true;
  private readonly queue: Response[] = [];
  private readonly started = performance.now();
  private readonly caller: string;
  private readonly onDrain = (): void => this.drain();

  constructor(
    private readonly hub: WatcherOwner<Response>,
    readonly call: WatchCall<Response>,
    readonly filter: Set<string> | undefined,
  ) {
    this.caller = callerIdOf(call.metadata);
  }

  /** Starts following grpc-js' backpressure (a refused stream never does). */
  attach(): void {
    this.call.on('drain', this.onDrain);
  }

  /** Writes `message`, or queues it while grpc-js reports backpressure. */
  deliver(message: Response): void {
    if (this.ended) return;
    if (this.writable && this.queue.length === 0) {
      this.writable = this.call.write(message);
      this.delivered += 1;
      return;
    }
    this.queue.push(message);
    if (this.queue.length > this.hub.maxQueued) {
      this.finish({ code: REFUSAL_CODES.consumerTooSlow, details: `consumer fell more than ${this.hub.maxQueued} ${this.hub.spec.unit} behind` });
    }
  }

  /** Ends the stream with `status`, or just stops it when the caller went away. */
  finish(status?: StreamStatus): void {
    if (this.ended) return;
    this.ended = true;
    this.hub.remove(this);
    this.call.removeListener('drain', this.onDrain);
    this.queue.length = 0;
    if (status) this.refuse(status);
    else this.log(cancelCode(this.call));
  }

  refuse(status: StreamStatus): void {
    this.call.emit('error', status);
    this.log(status.code, status.details);
  }

  private drain(): void {
    this.writable = true;
    while (this.writable && this.queue.length > 0 && !this.ended) {
      this.writable = this.call.write(this.queue.shift()!);
      this.delivered += 1;
    }
  }

  log(code: number, details?: string): void {
    const filter = this.filter;
    this.hub.context.log.info('rpc', {
      method: this.hub.spec.method,
      code: statusName(code),
      caller: this.caller,
      // The filter, not every id: a 1,000-id filter would make the line huge.
      ...(filter && { deviceIds: filter.size <= 10 ? [...filter] : `${filter.size} ids` }),
      durationMs: Math.round(performance.now() - this.started),
      delivered: this.delivered,
      ...(details && { details }),
    });
  }
}

/** Serves one watch RPC's streams and can end them all (graceful shutdown, lost subscription). */
export class BoundedWatchHub<Event, Response> implements WatcherOwner<Response> {
  readonly maxQueued: number;
  private readonly chunk: number;
  /** Streams without a filter: they get every event. */
  private readonly everything = new Set<Watcher<Response>>();
  /** Streams with a filter, under each device id they name. */
  private readonly byDevice = new Map<string, Set<Watcher<Response>>>();
  private readonly watchers = new Set<Watcher<Response>>();
  // Streams whose final status has not been handed to grpc-js yet (shutdown waits for them).
  private readonly open = new Set<object>();
  private unsubscribe: (() => void) | undefined;
  /** Events not yet written to every stream, oldest first; the first one is being fanned out. */
  private readonly waiting: Event[] = [];

  constructor(
    private readonly source: WatchSource<Event>,
    readonly context: CallContext,
    readonly spec: WatchSpec<Event, Response>,
  ) {
    this.maxQueued = spec.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.chunk = spec.chunk ?? DEFAULT_FANOUT_CHUNK;
  }

  /** Number of streams not yet finished. */
  get size(): number {
    return this.open.size;
  }

  /** Number of streams still receiving events (a stream cut for being slow leaves at once). */
  get receiving(): number {
    return this.watchers.size;
  }

  /** Ends every open stream with `status`. */
  closeAll(status: StreamStatus): void {
    for (const watcher of [...this.watchers]) watcher.finish(status);
  }

  /** The RPC handler. */
  readonly handle = (call: WatchCall<Response>): void => {
    const refused = rejectRequest(call.request, call.metadata);
    let filter: Set<string> | undefined;
    if (!refused) {
      try {
        filter = idFilter(call.request.deviceIds);
      } catch (error) {
        return new Watcher(this, call, undefined).refuse(toGrpcStatus(error));
      }
    }
    // A stream opened while the subscription is down would silently miss events.
    const status = refused ?? (this.source.connected === false ? this.spec.unavailable : undefined);
    const watcher = new Watcher<Response>(this, call, filter);
    if (status) return watcher.refuse(status);

    watcher.attach();
    this.add(watcher);
    this.open.add(call);
    const closed = (): void => {
      this.open.delete(call);
    };
    call.once('finish', closed);
    call.once('close', closed);
    call.once('cancelled', () => {
      closed();
      watcher.finish();
    });
    // Headers now, so a watcher knows it is subscribed before the first event arrives.
    call.sendMetadata(new Metadata());
  };

  private add(watcher: Watcher<Response>): void {
    this.watchers.add(watcher);
    if (!watcher.filter) this.everything.add(watcher);
    else {
      for (const id of watcher.filter) {
        let set = this.byDevice.get(id);
        if (!set) this.byDevice.set(id, (set = new Set()));
        set.add(watcher);
      }
    }
    this.unsubscribe ??= this.source.subscribe((event) => this.accept(event));
  }

  /** Forgets a finished stream; the source subscription ends with the last stream. */
  remove(watcher: Watcher<Response>): void {
    if (!this.watchers.delete(watcher)) return;
    if (!watcher.filter) this.everything.delete(watcher);
    else {
      for (const id of watcher.filter) {
        const set = this.byDevice.get(id);
        set?.delete(watcher);
        if (set?.size === 0) this.byDevice.delete(id);
      }
    }
    if (this.watchers.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
    }
  }

  private accept(event: Event): void {
    this.waiting.push(event);
    // The first waiting event is being fanned out; this one follows it.
    if (this.waiting.length === 1) this.fanOut();
  }

  /** Writes the oldest waiting event to its streams, `chunk` at a time, then the next event. */
  private fanOut(): void {
    while (this.waiting.length > 0) {
      const event = this.waiting[0]!;
      const targets = this.targetsOf(event);
      let message: Response | undefined;
      if (targets.length > 0) {
        try {
          message = this.spec.toMessage(event);
        } catch (error) {
          this.context.log.error('watch event dropped: cannot convert it', { method: this.spec.method, error: String(error) });
        }
      }
      if (message === undefined || targets.length <= this.chunk) {
        if (message !== undefined) this.write(targets, 0, targets.length, message);
        this.waiting.shift();
        continue;
      }
      this.writeInChunks(targets, 0, message);
      return;
    }
  }

  private writeInChunks(targets: Watcher<Response>[], from: number, message: Response): void {
    const to = Math.min(targets.length, from + this.chunk);
    this.write(targets, from, to, message);
    if (to < targets.length) {
      // Far behind the source: stop yielding until caught up, so the waiting list stays bounded.
      if (this.waiting.length > MAX_WAITING_EVENTS) return this.writeInChunks(targets, to, message);
      setImmediate(() => this.writeInChunks(targets, to, message));
      return;
    }
    this.waiting.shift();
    if (this.waiting.length > 0) setImmediate(() => this.fanOut());
  }

  private write(targets: Watcher<Response>[], from: number, to: number, message: Response): void {
    for (let i = from; i < to; i++) {
      try {
        targets[i]!.deliver(message);
      } catch (error) {
        this.context.log.error('watch write failed', { method: this.spec.method, error: String(error) });
      }
    }
  }

  /** The streams interested in `event`, now: a stream opened later does not get it. */
  private targetsOf(event: Event): Watcher<Response>[] {
    const named = this.byDevice.get(this.spec.deviceOf(event));
    if (!named) return [...this.everything];
    return [...this.everything, ...named];
  }
}

/** The device-id filter of a watch request; undefined means every device. */
export function idFilter(ids: readonly string[]): Set<string> | undefined {
  if (ids.length === 0) return undefined;
  if (ids.length > MAX_WATCH_IDS) {
    throw new ValidationError(`device_ids has ${ids.length} entries; at most ${MAX_WATCH_IDS} allowed`, 'device_ids');
  }
  return new Set(ids.map((id, i) => validateDeviceId(id, `device_ids[${i}]`)));
}
