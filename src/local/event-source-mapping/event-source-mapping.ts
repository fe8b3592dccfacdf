/**
 * The one local stand-in for a Lambda event source mapping on a stream (Kinesis, DynamoDB
 * Streams): records are kept per shard in arrival order; per shard, one batch is in flight at a
 * time, and it closes when it holds `batchSize` records or `batchWindowMs` after its first
 * record. A partial batch response checkpoints before the earliest failed record and retries
 * from it; a thrown error bisects the batch down to the failing record; a record is given up
 * on (to `onDiscard`, the on-failure destination) after `retryAttempts` retries or once it is
 * older than `maxRecordAgeMs`.
 *
 * Durable and bounded: with a {@link DurableLog}, `put` resolves only once the record is on
 * disk, and the records a previous process left unfinished are delivered first (`recover`).
 * At most `maxPending` records are held; `put` waits for room, which is what lets the broker
 * hold back a PUBACK (and stop reading the socket) while the stream is full. With a log, at most
 * `memoryWindow` records per shard are in memory: the rest of a backlog waits in the log's
 * files and is read back as the shard drains, so a slow handler costs disk, not heap.
 */
import type { DurableLog } from './durable-log.js';

/** What the handler answers: Lambda's partial batch response. */
export interface BatchResponse {
  readonly batchItemFailures?: ReadonlyArray<{ readonly itemIdentifier?: string }>;
}

/** Why records were given up on, as Lambda's on-failure record names it, and after how many invocations. */
export interface DiscardCondition {
  readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
  readonly invocations: number;
}

/** Options of {@link EventSourceMapping}. */
export interface EventSourceMappingOptions<R> {
  /** Names the mapping in log lines. */
  readonly name: string;
  readonly batchSize: number;
  readonly batchWindowMs: number;
  readonly handler: (records: R[]) => Promise<BatchResponse | void>;
  /** The record's identifier in batchItemFailures (its sequence number). */
  readonly identify: (record: R) => string;
  /** Epoch ms the stream received the record. */
  readonly arrivedAt: (record: R) => number;
  /** @default 10 */
  readonly retryAttempts?: number;
  /** First retry delay; doubles per retry up to maxRetryDelayMs. @default 100 */
  readonly retryBaseMs?: number;
  /** @default 5_000 */
  readonly maxRetryDelayMs?: number;
  /** @default no maximum age */
  readonly maxRecordAgeMs?: number;
  /** Records held (queued and in flight, in memory or spilled to the log) before `put` waits. @default 10_000 */
  readonly maxPending?: number;
  /** With a log: records per shard kept in memory; later ones wait in the log's files. @default max(batchSize, 1_000) */
  readonly memoryWindow?: number;
  /** The on-failure destination. */
  readonly onDiscard?: (records: readonly R[], reason: string, failure: DiscardCondition) => Promise<void> | void;
  /** Where records are kept until delivered; in memory only when absent (`--ephemeral`). */
  readonly log?: DurableLog<R>;
  readonly logLine?: (line: string) => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Counters since start. */
export interface EventSourceMappingStats {
  readonly put: number;
  readonly delivered: number;
  readonly discarded: number;
  readonly invocations: number;
  readonly pending: number;
  /** Largest number of records held at once. */
  readonly peakPending: number;
  /** Records replayed from the log at start. */
  readonly recovered: number;
  /** Records that waited in the log's files instead of memory. */
  readonly spilled: number;
}

interface Shard<R> {
  readonly key: string;
  readonly queue: R[];
  /** Records after the queue that wait in the log's files (in order). */
  spilled: number;
  /** A read of spilled records is running. */
  refilling?: Promise<void>;
  /** The last read found the spilled records still on their way to the disk; their append schedules the shard. */
  starved?: boolean;
  /** Retries of the record at the head of the queue. */
  attempts: number;
  firstArrival?: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

/** A stream's event source mapping, in process. */
export class EventSourceMapping<R> {
  private readonly shards = new Map<string, Shard<R>>();
  private readonly clock: () => number;
  private readonly retryAttempts: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly maxPending: number;
  private readonly memoryWindow: number;
  private counters = { put: 0, delivered: 0, discarded: 0, invocations: 0, peakPending: 0, recovered: 0, spilled: 0 };
  private held = 0;
  private flushing = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];

  constructor(private readonly options: EventSourceMappingOptions<R>) {
    this.clock = options.clock ?? Date.now;
    this.retryAttempts = options.retryAttempts ?? 10;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
    this.maxPending = options.maxPending ?? 10_000;
    this.memoryWindow = Math.max(1, options.memoryWindow ?? Math.max(options.batchSize, 1_000));
  }

  /** Replays what a previous process left in the log; call before the first `put`. */
  async recover(): Promise<number> {
    const left = (await this.options.log?.recover()) ?? new Map<string, number>();
    let total = 0;
    for (const [key, count] of left) {
      const shard = this.shard(key);
      shard.spilled += count;
      this.hold(count);
      total += count;
      this.schedule(shard);
    }
    this.counters.recovered = total;
    if (total > 0) this.options.logLine?.(`${this.options.name}: replaying ${total} record(s) left undelivered`);
    return total;
  }

  /**
   * Adds a record to `shard`. Resolves once it is durable (when there is a log) and held;
   * waits while `maxPending` records are held. The record is delivered at least once.
   */
  async put(shard: string, record: R): Promise<void> {
    if (this.stopped) throw new Error('The stream is stopped');
    while (this.held >= this.maxPending) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      if (this.stopped) throw new Error('The stream is stopped');
    }
    this.counters.put += 1;
    const log = this.options.log;
    if (!log) return this.enqueue(shard, record);
    const state = this.shard(shard);
    if (state.spilled === 0 && state.queue.length < this.memoryWindow) {
      this.enqueue(shard, record);
      await log.append(shard, record);
      return;
    }
    // Behind a backlog: the record waits in the file, read back once the records before it are delivered.
    state.spilled += 1;
    this.counters.spilled += 1;
    this.hold(1);
    state.firstArrival ??= this.clock();
    await log.append(shard, record, true);
    state.starved = false;
    this.schedule(state);
  }

  /** Whether `put` would have to wait now. */
  get full(): boolean {
    return this.held >= this.maxPending;
  }

  /** Counters since start. */
  stats(): EventSourceMappingStats {
    return { ...this.counters, pending: this.held };
  }

  /** Delivers every record held so far without waiting for the window; resolves when none is left. */
  async flush(): Promise<void> {
    this.flushing += 1;
    try {
      for (const shard of this.shards.values()) this.schedule(shard);
      while ([...this.shards.values()].some((s) => s.queue.length > 0 || s.spilled > 0 || s.running)) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
    } finally {
      this.flushing -= 1;
    }
  }

  /** Delivers what is held (waiting at most `drainMs`), then refuses further records; returns how many were left (still in the log). */
  async stop(drainMs = Number.POSITIVE_INFINITY): Promise<number> {
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      ...(Number.isFinite(drainMs) ? [new Promise<void>((resolve) => (timeout = setTimeout(resolve, drainMs)))] : []),
    ]);
    clearTimeout(timeout);
    this.stopped = true;
    for (const shard of this.shards.values()) clearTimeout(shard.timer);
    for (const wake of this.roomWaiters.splice(0)) wake();
    const left = this.held;
    await this.options.log?.close();
    return left;
  }

  private shard(key: string): Shard<R> {
    let shard = this.shards.get(key);
    if (!shard) {
      shard = { key, queue: [], spilled: 0, attempts: 0 };
      this.shards.set(key, shard);
    }
    return shard;
  }

  private hold(count: number): void {
    this.held += count;
    this.counters.peakPending = Math.max(this.counters.peakPending, this.held);
  }

  private enqueue(key: string, record: R): void {
    const shard = this.shard(key);
    shard.queue.push(record);
    this.hold(1);
    shard.firstArrival ??= this.clock();
    this.schedule(shard);
  }

  /** Moves spilled records back into memory while the shard's queue is below a batch. */
  private async refill(shard: Shard<R>): Promise<void> {
    const log = this.options.log;
    if (!log) return;
    if (shard.refilling) return shard.refilling;
    const below = () => shard.spilled > 0 && shard.queue.length < Math.min(this.options.batchSize, this.memoryWindow);
    if (!below()) return;
    const reading = (async () => {
      while (below()) {
        const records = await log.read(shard.key, Math.min(shard.spilled, this.memoryWindow - shard.queue.length));
        shard.starved = records.length === 0;
        if (shard.starved) return;
        shard.queue.push(...records);
        shard.spilled -= records.length;
      }
    })();
    shard.refilling = reading;
    try {
      await reading;
    } finally {
      shard.refilling = undefined;
    }
  }

  private release(count: number): void {
    this.held -= count;
    while (this.held < this.maxPending && this.roomWaiters.length > 0) this.roomWaiters.shift()!();
  }

  private schedule(shard: Shard<R>, delayMs?: number): void {
    if (shard.running || (shard.queue.length === 0 && shard.spilled === 0) || this.stopped) return;
    const { batchSize, batchWindowMs } = this.options;
    const due = (shard.firstArrival ?? this.clock()) + batchWindowMs;
    const wait = delayMs ?? (this.flushing > 0 || shard.queue.length + shard.spilled >= batchSize ? 0 : Math.max(0, due - this.clock()));
    if (wait > 0 || delayMs === undefined) {
      // Even with no wait, deliver on a later turn so records put in the same tick share a batch.
      clearTimeout(shard.timer);
      shard.timer = setTimeout(() => this.schedule(shard, 0), wait);
      return;
    }
    clearTimeout(shard.timer);
    shard.timer = undefined;
    shard.running = this.deliver(shard).finally(() => {
      shard.running = undefined;
      shard.firstArrival = shard.queue.length + shard.spilled > 0 ? this.clock() : undefined;
      if (shard.queue.length > 0 || (shard.spilled > 0 && !shard.starved)) this.schedule(shard);
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /** Removes the first `count` records of the shard as done and checkpoints the last of them. */
  private settle(shard: Shard<R>, count: number): R[] {
    if (count === 0) return [];
    const done = shard.queue.splice(0, count);
    this.options.log?.checkpoint(shard.key, this.options.identify(done[done.length - 1]!), count);
    this.release(count);
    return done;
  }

  private async discard(shard: Shard<R>, count: number, reason: string, failure: DiscardCondition): Promise<void> {
    const records = shard.queue.slice(0, count);
    this.counters.discarded += count;
    this.options.logLine?.(`${this.options.name}: gave up on ${records.map(this.options.identify).join(', ')}: ${reason}`);
    // The on-failure destination first: a crash before the checkpoint sends it again, never loses it.
    await this.options.onDiscard?.(records, reason, failure);
    this.settle(shard, count);
    shard.attempts = 0;
  }

  private async deliver(shard: Shard<R>): Promise<void> {
    await this.refill(shard);
    if (shard.queue.length === 0) return;
    const maxAge = this.options.maxRecordAgeMs;
    if (maxAge !== undefined) {
      const now = this.clock();
      const expired = shard.queue.findIndex((record) => now - this.options.arrivedAt(record) <= maxAge);
      const count = expired === -1 ? shard.queue.length : expired;
      if (count > 0) {
        return this.discard(shard, count, `older than the maximum record age (${Math.round(maxAge / 1000)} s)`, {
          condition: 'RecordAgeExceeded',
          invocations: shard.attempts,
        });
      }
    }
    const batch = shard.queue.slice(0, this.options.batchSize);
    const succeeded = await this.invoke(batch);
    if (succeeded === batch.length) {
      this.settle(shard, batch.length);
      shard.attempts = 0;
      this.counters.delivered += batch.length;
      return;
    }
    // Checkpoint before the earliest failure; everything after it is retried, in order.
    this.settle(shard, succeeded);
    this.counters.delivered += succeeded;
    shard.attempts = succeeded > 0 ? 1 : shard.attempts + 1;
    if (shard.attempts > this.retryAttempts) {
      return this.discard(shard, 1, `retry attempts exhausted (${this.retryAttempts})`, { condition: 'RetryAttemptsExhausted', invocations: shard.attempts });
    }
    const backoff = Math.min(this.maxRetryDelayMs, this.retryBaseMs * 2 ** (shard.attempts - 1));
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }

  /**
   * Invokes the handler; returns how many leading records succeeded. A thrown error bisects
   * the batch (BisectBatchOnFunctionError) down to the failing record.
   */
  private async invoke(batch: R[]): Promise<number> {
    this.counters.invocations += 1;
    let response: BatchResponse | void;
    try {
      response = await this.options.handler(batch);
    } catch (error) {
      this.options.logLine?.(`${this.options.name}: handler failed on ${batch.length} record(s): ${(error as Error).message}`);
      if (batch.length === 1) return 0;
      const half = Math.ceil(batch.length / 2);
      const first = await this.invoke(batch.slice(0, half));
      if (first < half) return first;
      return half + (await this.invoke(batch.slice(half)));
    }
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) return batch.length;
    const failed = new Set(failures.map((f) => f?.itemIdentifier));
    const index = batch.findIndex((record) => failed.has(this.options.identify(record)));
    // An identifier naming no record in the batch (or none at all) fails the whole batch, as Lambda treats it.
    return index === -1 ? 0 : index;
  }
}
