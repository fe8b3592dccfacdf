/**
 * Local stand-in for the Lambda event source mapping on a DynamoDB stream: the one
 * {@link EventSourceMapping} core in the DynamoDB record shape, one shard per table, with the
 * settings the CDK gives the change feed's mapping. Durable with a directory: the change
 * capture awaits `push` before it answers the write, so an acknowledged write's change
 * survives a crash and is delivered after the restart.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { CHANGE_STREAM_BATCH_SIZE, CHANGE_STREAM_MAPPING } from '../../contracts/stream-mappings.js';
import { DurableLog } from './durable-log.js';
import { EventSourceMapping } from './event-source-mapping.js';

/** Records per handler call (CDK `batchSize`, as lib/change-feed.ts sets it). */
export const STREAM_BATCH_SIZE = CHANGE_STREAM_BATCH_SIZE;
/** How long records are gathered before a call (CDK `maxBatchingWindow`), short to keep the local feed live. */
export const STREAM_MAX_BATCHING_WINDOW_MS = 25;
/** Retries of a failing record before it is discarded (CDK `retryAttempts`). */
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
  /** Records older than this (ApproximateCreationDateTime) are discarded. @default no maximum */
  readonly maxRecordAgeMs?: number;
  /** Records held before `push` waits. @default 10_000 */
  readonly maxPending?: number;
  /** Keep records here until delivered (survives a crash); in memory only when absent. */
  readonly dir?: string;
  /** Called for a record given up on after its retries (Lambda's on-failure destination). */
  readonly onDiscard?: (record: DynamoDBRecord, reason: string) => void;
  readonly log?: (line: string) => void;
}

/** Delivers records to a handler in batches with per-shard ordering and retries. */
export class StreamPoller {
  private readonly mapping: EventSourceMapping<DynamoDBRecord>;

  constructor(handler: StreamHandler, options: StreamPollerOptions = {}) {
    const identify = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber ?? '';
    this.mapping = new EventSourceMapping<DynamoDBRecord>({
      name: 'dynamodb stream',
      batchSize: options.batchSize ?? STREAM_BATCH_SIZE,
      batchWindowMs: options.batchingWindowMs ?? STREAM_MAX_BATCHING_WINDOW_MS,
      handler: (records) => handler({ Records: records }),
      identify,
      arrivedAt: (record) => (record.dynamodb?.ApproximateCreationDateTime ?? Date.now() / 1000) * 1000,
      retryAttempts: options.retryAttempts ?? STREAM_RETRY_ATTEMPTS,
      retryBaseMs: options.retryBaseDelayMs ?? STREAM_RETRY_BASE_DELAY_MS,
      maxRetryDelayMs: STREAM_MAX_RETRY_DELAY_MS,
      ...(options.maxRecordAgeMs !== undefined && { maxRecordAgeMs: options.maxRecordAgeMs }),
      ...(options.maxPending !== undefined && { maxPending: options.maxPending }),
      ...(options.dir && { log: new DurableLog<DynamoDBRecord>({ dir: options.dir, identify }) }),
      onDiscard: (records, reason) => {
        for (const record of records) options.onDiscard?.(record, reason);
      },
      logLine: options.log,
    });
  }

  /** Delivers what a previous process left in the directory; call before the first `push`. */
  recover(): Promise<number> {
    return this.mapping.recover();
  }

  /** Queues a record (its table's stream is its shard); resolves once it is durable, waiting while the poller is full. */
  push(record: DynamoDBRecord, shard: string = recordOrderKey(record)): Promise<void> {
    return this.mapping.put(shard, record);
  }

  /** Resolves when every record pushed so far was delivered (or discarded after its retries). */
  flush(): Promise<void> {
    return this.mapping.flush();
  }

  /** Records pushed but not yet delivered or discarded. */
  get backlog(): number {
    return this.mapping.stats().pending;
  }

  /** Delivers what is queued (waiting at most `drainMs`), then stops; returns how many were left undelivered (kept for the next start when durable). */
  stop(drainMs = 5_000): Promise<number> {
    return this.mapping.stop(drainMs);
  }
}

/**
 * The shard of a stream record: its table's stream, one shard per table locally. Without the
 * stream label, which changes at every start: records replayed after a restart must share the
 * shard, and so the order, of the new ones.
 */
export function recordOrderKey(record: DynamoDBRecord): string {
  return (record.eventSourceARN ?? '').split('/stream/')[0]!;
}
