/**
 * Local stand-in for the Lambda event source mapping on a DynamoDB stream: hands captured
 * records to a stream handler in batches and, like Lambda with ReportBatchItemFailures,
 * retries a shard from its first failed record on (records after it in the batch come again,
 * so consumers must be idempotent, as in AWS). The local stream has one shard per table.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { CHANGE_STREAM_BATCH_SIZE, CHANGE_STREAM_MAPPING } from '../../contracts/stream-mappings.js';

/** Records per handler call (CDK `batchSize`, as lib/change-feed.ts sets it). */
export const STREAM_BATCH_SIZE = CHANGE_STREAM_BATCH_SIZE;
/** How long records are gathered before a call (CDK `maxBatchingWindow`), short to keep the local feed live. */
export const STREAM_MAX_BATCHING_WINDOW_MS = 25;
/** Retries of a failing record before it is discarded (CDK `retryAttempts`, as lib/change-feed.ts sets it). */
export const STREAM_RETRY_ATTEMPTS = CHANGE_STREAM_MAPPING.retryAttempts;
/** First retry delay; doubles per attempt up to {@link STREAM_MAX_RETRY_DELAY_MS}. */
export const STREAM_RETRY_BASE_DELAY_MS = 50;
export const STREAM_MAX_RETRY_DELAY_MS = 2_000;

/** A DynamoDB stream handler, e.g. the events Lambda's. */
export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

/** Options for {@link StreamPoller}; each defaults to the constant of the same name. */
export interface StreamPollerOptions {
  readonly batchSize?: number;
  readonly batchingWindowMs?: number;
  readonly retryAttempts?: number;
  readonly retryBaseDelayMs?: number;
  /** Called for a record given up on after its retries (Lambda's on-failure destination). */
  readonly onDiscard?: (record: DynamoDBRecord, reason: string) => void;
}

interface Entry {
  readonly record: DynamoDBRecord;
  readonly orderKey: string;
  /** Arrival order, so retried records go back in front of later ones. */
  readonly arrival: number;
  failures: number;
  readonly settle: () => void;
  readonly settled: Promise<void>;
}

/** Delivers records to a handler in batches with per-item ordering and retries. */
export class StreamPoller {
  private readonly batchSize: number;
  private readonly batchingWindowMs: number;
  private readonly retryAttempts: number;
  private readonly retryBaseDelayMs: number;
  private pending: Entry[] = [];
  private readonly unsettled = new Set<Entry>();
  /** Shards waiting out a retry delay: no record of theirs is delivered before then. */
  private readonly backoffUntil = new Map<string, number>();
  private arrivals = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private stopped = false;

  constructor(
    private readonly handler: StreamHandler,
    private readonly options: StreamPollerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? STREAM_BATCH_SIZE;
    this.batchingWindowMs = options.batchingWindowMs ?? STREAM_MAX_BATCHING_WINDOW_MS;
    this.retryAttempts = options.retryAttempts ?? STREAM_RETRY_ATTEMPTS;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? STREAM_RETRY_BASE_DELAY_MS;
  }

  /** Queues a record; records with the same `orderKey` (the shard) are delivered in push order. */
  push(record: DynamoDBRecord, orderKey: string = recordOrderKey(record)): void {
    if (this.stopped) return;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const entry: Entry = { record, orderKey, arrival: this.arrivals++, failures: 0, settle, settled };
    this.pending.push(entry);
    this.unsettled.add(entry);
    if (this.pending.length >= this.batchSize) this.schedule(0);
    else this.schedule(this.batchingWindowMs);
  }

  /** Resolves when every record pushed so far was delivered (or discarded after its retries). */
  async flush(): Promise<void> {
    await Promise.all([...this.unsettled].map((entry) => entry.settled));
  }

  /** Records pushed but not yet delivered or discarded. */
  get backlog(): number {
    return this.unsettled.size;
  }

  /** Delivers what is queued (waiting at most `drainMs`), then stops; returns how many were left undelivered. */
  async stop(drainMs = 5_000): Promise<number> {
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, drainMs);
      }),
    ]);
    clearTimeout(timeout);
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const left = this.unsettled.size;
    for (const entry of this.unsettled) entry.settle();
    this.unsettled.clear();
    this.pending = [];
    return left;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.inFlight) return;
    const due = Date.now() + delayMs;
    if (this.timer && this.timerDue <= due) return; // a delivery is already due no later than this one
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.deliver();
    }, delayMs);
  }

  private takeBatch(now: number): Entry[] {
    const batch: Entry[] = [];
    const held = new Set<string>();
    for (const entry of this.pending) {
      if (batch.length >= this.batchSize) break;
      if (held.has(entry.orderKey)) continue;
      if ((this.backoffUntil.get(entry.orderKey) ?? 0) > now) {
        held.add(entry.orderKey); // its later records wait too
        continue;
      }
      batch.push(entry);
    }
    const taken = new Set(batch);
    this.pending = this.pending.filter((entry) => !taken.has(entry));
    return batch;
  }

  private async deliver(): Promise<void> {
    if (this.stopped || this.inFlight) return;
    const now = Date.now();
    const batch = this.takeBatch(now);
    if (batch.length === 0) {
      this.scheduleAfterBackoff(now);
      return;
    }
    this.inFlight = true;
    let failed: Set<string> | 'all';
    try {
      const response = await this.handler({ Records: batch.map((entry) => entry.record) });
      failed = failedSequenceNumbers(response, batch);
    } catch {
      failed = 'all';
    }
    this.inFlight = false;
    if (this.stopped) return;
    this.settleBatch(batch, failed);
    if (this.pending.length > 0) this.schedule(0);
  }

  /**
   * Per shard, the first failed record and every later record of that shard go back to the
   * queue (Lambda retries from the lowest failed sequence number); the records before it are done.
   */
  private settleBatch(batch: Entry[], failed: Set<string> | 'all'): void {
    const retryFrom = new Set<string>();
    const requeue: Entry[] = [];
    for (const entry of batch) {
      const isFailed = failed === 'all' || failed.has(entry.record.dynamodb?.SequenceNumber ?? '');
      if (retryFrom.has(entry.orderKey)) {
        requeue.push(entry);
      } else if (isFailed) {
        entry.failures += 1;
        if (entry.failures > this.retryAttempts) {
          this.options.onDiscard?.(entry.record, `failed ${entry.failures} times`);
          this.done(entry);
          continue;
        }
        retryFrom.add(entry.orderKey);
        const delay = Math.min(this.retryBaseDelayMs * 2 ** (entry.failures - 1), STREAM_MAX_RETRY_DELAY_MS);
        this.backoffUntil.set(entry.orderKey, Date.now() + delay);
        requeue.push(entry);
      } else {
        this.done(entry);
      }
    }
    // A held shard is never in a batch, so a shard delivered without failure has no backoff left.
    for (const entry of batch) if (!retryFrom.has(entry.orderKey)) this.backoffUntil.delete(entry.orderKey);
    if (requeue.length > 0) this.pending = [...requeue, ...this.pending].sort((a, b) => a.arrival - b.arrival);
  }

  private scheduleAfterBackoff(now: number): void {
    if (this.pending.length === 0) return;
    const waits = this.pending.map((entry) => (this.backoffUntil.get(entry.orderKey) ?? now) - now);
    this.schedule(Math.max(1, Math.min(...waits)));
  }

  private done(entry: Entry): void {
    this.unsettled.delete(entry);
    entry.settle();
  }
}

/**
 * The ordering key of a stream record: its stream (one shard per table locally). The events
 * handler stops a shard at its first failure without reporting the later records, so retries
 * must cover the whole shard, not just the failed item.
 */
export function recordOrderKey(record: DynamoDBRecord): string {
  return record.eventSourceARN ?? '';
}

/**
 * Which records the handler reported as failed. As in Lambda, a response naming a record
 * that is not in the batch (or naming none by an empty identifier) fails the whole batch.
 */
function failedSequenceNumbers(response: DynamoDBBatchResponse | void, batch: Entry[]): Set<string> | 'all' {
  const failures = response?.batchItemFailures ?? [];
  const inBatch = new Set(batch.map((entry) => entry.record.dynamodb?.SequenceNumber ?? ''));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !inBatch.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}
