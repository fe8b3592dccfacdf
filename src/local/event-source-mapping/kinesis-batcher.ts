/**
 * The local stand-in for a Kinesis Data Stream plus its Lambda event source mapping: records
 * are appended to shards by partition key with increasing sequence numbers; per shard, one
 * batch is in flight at a time and it closes when it holds `batchSize` records or
 * `batchWindowSeconds` after its first record, as the mapping does. So one device's records
 * (one partition key, one shard) reach the handler in order. Partial batch responses
 * checkpoint before the earliest failed record and retry from it; a thrown error bisects the
 * batch; after `retryAttempts` the records go to `onDiscard` (the on-failure destination).
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { IngestSettings } from '../../contracts/ingest-settings.js';
import { INGEST_STREAM_MAPPING } from '../../contracts/stream-mappings.js';

/** Options of {@link KinesisBatcher}. */
export interface KinesisBatcherOptions {
  readonly settings: IngestSettings;
  readonly handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>;
  /** @default 1 */
  readonly shards?: number;
  /** Retries of a failing record before it is discarded (the event source mapping's setting). @default 10 */
  readonly retryAttempts?: number;
  /** First retry delay; doubles per attempt up to 5 s. @default 100 */
  readonly retryBaseMs?: number;
  /** The on-failure destination: records given up on, with the reason. */
  readonly onDiscard?: (records: readonly KinesisStreamRecord[], reason: string) => Promise<void> | void;
  /** @default 'arn:aws:kinesis:us-east-1:000000000000:stream/local-ingest' */
  readonly streamArn?: string;
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Counters since start. */
export interface KinesisBatcherStats {
  readonly put: number;
  readonly delivered: number;
  readonly discarded: number;
  readonly invocations: number;
  readonly pending: number;
}

interface Shard {
  readonly id: string;
  readonly queue: KinesisStreamRecord[];
  /** Retry count of the record at the head of the queue. */
  attempts: number;
  firstArrival?: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

// Kinesis sequence numbers are large decimal strings that increase within a shard.
const SEQUENCE_BASE = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/** Kinesis + event source mapping, in process. */
export class KinesisBatcher {
  private readonly shards: Shard[];
  private readonly streamArn: string;
  private readonly clock: () => number;
  private readonly retryAttempts: number;
  private readonly retryBaseMs: number;
  private sequence = 0n;
  private counters = { put: 0, delivered: 0, discarded: 0, invocations: 0 };
  private flushing = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: KinesisBatcherOptions) {
    const count = options.shards ?? 1;
    this.shards = Array.from({ length: count }, (_, i) => ({ id: `shardId-${String(i).padStart(12, '0')}`, queue: [], attempts: 0 }));
    this.streamArn = options.streamArn ?? 'arn:aws:kinesis:us-east-1:000000000000:stream/local-ingest';
    this.clock = options.clock ?? Date.now;
    this.retryAttempts = options.retryAttempts ?? INGEST_STREAM_MAPPING.retryAttempts;
    this.retryBaseMs = options.retryBaseMs ?? 100;
  }

  /** PutRecord: appends `data` under `partitionKey`; returns the record's sequence number. */
  put(partitionKey: string, data: Uint8Array | string): string {
    if (this.stopped) throw new Error('The stream is stopped');
    const shard = this.shards[this.shardIndex(partitionKey)]!;
    this.sequence += 1n;
    const sequenceNumber = String(SEQUENCE_BASE + this.sequence);
    const arrival = this.clock();
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    shard.queue.push({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey,
        sequenceNumber,
        data: bytes.toString('base64'),
        approximateArrivalTimestamp: arrival / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shard.id}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/local-ingest',
      awsRegion: this.streamArn.split(':')[3] ?? 'us-east-1',
      eventSourceARN: this.streamArn,
    });
    this.counters.put += 1;
    shard.firstArrival ??= arrival;
    this.schedule(shard);
    return sequenceNumber;
  }

  /** Counters since start. */
  stats(): KinesisBatcherStats {
    return { ...this.counters, pending: this.shards.reduce((n, s) => n + s.queue.length, 0) };
  }

  /** Delivers every record put so far without waiting for the window; resolves when none is left. */
  async flush(): Promise<void> {
    this.flushing += 1;
    try {
      for (const shard of this.shards) this.schedule(shard);
      while (this.shards.some((s) => s.queue.length > 0 || s.running)) {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
    } finally {
      this.flushing -= 1;
    }
  }

  /** Flushes, then refuses further records. */
  async stop(): Promise<void> {
    await this.flush();
    this.stopped = true;
    for (const shard of this.shards) clearTimeout(shard.timer);
  }

  private shardIndex(partitionKey: string): number {
    if (this.shards.length === 1) return 0;
    // Kinesis maps the MD5 of the partition key onto the shards' hash-key ranges.
    return createHash('md5').update(partitionKey).digest().readUInt32BE(0) % this.shards.length;
  }

  private schedule(shard: Shard, delayMs?: number): void {
    if (shard.running || shard.queue.length === 0) return;
    const { batchSize, batchWindowSeconds } = this.options.settings;
    const due = (shard.firstArrival ?? this.clock()) + batchWindowSeconds * 1000;
    const wait = delayMs ?? (this.flushing > 0 || shard.queue.length >= batchSize ? 0 : Math.max(0, due - this.clock()));
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
      shard.firstArrival = shard.queue.length > 0 ? this.clock() : undefined;
      if (shard.queue.length > 0) this.schedule(shard);
      this.notifyIdle();
    });
  }

  private notifyIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async deliver(shard: Shard): Promise<void> {
    const batch = shard.queue.slice(0, this.options.settings.batchSize);
    const failedFrom = await this.invoke(batch);
    if (failedFrom === batch.length) {
      shard.queue.splice(0, batch.length);
      shard.attempts = 0;
      this.counters.delivered += batch.length;
      return;
    }
    // Checkpoint before the earliest failure; everything after it is retried (in order).
    shard.queue.splice(0, failedFrom);
    this.counters.delivered += failedFrom;
    shard.attempts = failedFrom > 0 ? 1 : shard.attempts + 1;
    if (shard.attempts > this.retryAttempts) {
      const head = shard.queue.shift()!;
      shard.attempts = 0;
      this.counters.discarded += 1;
      this.options.log?.(`kinesis: gave up on ${head.kinesis.sequenceNumber} after ${this.retryAttempts} retries`);
      await this.options.onDiscard?.([head], `retry attempts exhausted (${this.retryAttempts})`);
      return;
    }
    const backoff = Math.min(5_000, this.retryBaseMs * 2 ** (shard.attempts - 1));
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }

  /**
   * Invokes the handler; returns how many leading records succeeded. A thrown error bisects
   * the batch (BisectBatchOnFunctionError) down to the failing record.
   */
  private async invoke(batch: KinesisStreamRecord[]): Promise<number> {
    this.counters.invocations += 1;
    let response: KinesisStreamBatchResponse | void;
    try {
      response = await this.options.handler({ Records: batch });
    } catch (error) {
      this.options.log?.(`kinesis: handler failed on ${batch.length} record(s): ${(error as Error).message}`);
      if (batch.length === 1) return 0;
      const half = Math.ceil(batch.length / 2);
      const first = await this.invoke(batch.slice(0, half));
      if (first < half) return first;
      return half + (await this.invoke(batch.slice(half)));
    }
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) return batch.length;
    const index = batch.findIndex((r) => failures.some((f) => f.itemIdentifier === r.kinesis.sequenceNumber));
    // An identifier naming no record in the batch fails the whole batch, as Lambda treats it.
    return index === -1 ? 0 : index;
  }
}
