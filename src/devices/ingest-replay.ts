/**
 * Replay of what the ingest event source gave up on: each failure-queue message names a range
 * of one shard; the records of the range are read back from the stream and sent through the
 * ingest handler again (the same composition the Lambda runs), and the message is deleted only
 * once every record of its range was processed. Storage is idempotent per (thing, seq), so a
 * replay interrupted after the handler and before the delete only stores the same readings
 * again; within one run a record named by two overlapping ranges goes through once.
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { FailedRange } from './kinesis-failure-record.js';

/** One message of the failure queue. */
export interface FailureMessage {
  /** Names the message in progress lines (a message id, a file name). */
  readonly id: string;
  /** The range it names; absent for anything else the queue holds (a presence invocation given up on). */
  readonly range?: FailedRange;
}

/** The on-failure destination: an SQS queue in AWS, a directory locally. */
export interface FailureQueue {
  /** Every message in the queue now, each once. */
  receive(): Promise<FailureMessage[]>;
  delete(message: FailureMessage): Promise<void>;
}

/** Reads a range back from the stream. */
export interface StreamRangeReader {
  /** The range's records in stream order, page by page; throws RangeExpiredError once its start has passed the retention. */
  read(range: FailedRange): AsyncIterable<readonly KinesisStreamRecord[]>;
}

/** The stream no longer holds (all of) a range: it aged out of the retention. */
export class RangeExpiredError extends Error {
  readonly code = 'RANGE_EXPIRED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RangeExpiredError';
  }
}

/** What happened to one message. */
export interface RangeOutcome {
  readonly message: FailureMessage;
  readonly range: FailedRange;
  /** Records sent through the handler. */
  readonly records: number;
  /** Records already sent in this run through an overlapping range. */
  readonly repeated: number;
  /** Records the handler still reported as failed after the attempts; the message is kept. */
  readonly failed: number;
  /** Set when the range aged out of the stream. */
  readonly expired?: string;
  /** Whether the message was deleted. */
  readonly deleted: boolean;
}

/** What a replay did. */
export interface ReplaySummary {
  readonly messages: number;
  /** Messages naming no Kinesis range, left in the queue. */
  readonly other: number;
  readonly records: number;
  readonly repeated: number;
  readonly failed: number;
  readonly expired: number;
  readonly deleted: number;
}

/** Ports and options of {@link replayFailedRanges}. */
export interface ReplayDeps {
  readonly queue: FailureQueue;
  readonly reader: StreamRangeReader;
  readonly handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>;
  /** Records per handler invocation. @default 1000 */
  readonly batchSize?: number;
  /** Invocations of a batch whose records keep failing (store unavailable). @default 3 */
  readonly attempts?: number;
  /** First pause between attempts; doubles. @default 1000 */
  readonly retryDelayMs?: number;
  /** Delete messages whose range aged out (they can never be replayed). @default false */
  readonly dropExpired?: boolean;
  /** Told after each message. */
  readonly onRange?: (outcome: RangeOutcome) => void;
}

/** Replays every range in the queue; see the module comment for the guarantees. */
export async function replayFailedRanges(deps: ReplayDeps): Promise<ReplaySummary> {
  const batchSize = deps.batchSize ?? 1000;
  const seen = new Set<string>();
  const messages = await deps.queue.receive();
  const totals = { messages: messages.length, other: 0, records: 0, repeated: 0, failed: 0, expired: 0, deleted: 0 };
  for (const message of messages) {
    const range = message.range;
    if (!range) {
      totals.other += 1;
      continue;
    }
    let records = 0;
    let repeated = 0;
    let failed = 0;
    let expired: string | undefined;
    try {
      for await (const page of deps.reader.read(range)) {
        const fresh = page.filter((record) => {
          const key = `${range.streamArn}\u0000${range.shardId}\u0000${record.kinesis.sequenceNumber}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        repeated += page.length - fresh.length;
        for (let i = 0; i < fresh.length; i += batchSize) {
          const batch = fresh.slice(i, i + batchSize);
          records += batch.length;
          failed += await invoke(deps, batch);
        }
      }
    } catch (error) {
      if (!(error instanceof RangeExpiredError)) throw error;
      expired = error.message;
    }
    const deleted = failed === 0 && (expired === undefined || deps.dropExpired === true);
    if (deleted) await deps.queue.delete(message);
    totals.records += records;
    totals.repeated += repeated;
    totals.failed += failed;
    totals.expired += expired === undefined ? 0 : 1;
    totals.deleted += deleted ? 1 : 0;
    deps.onRange?.({ message, range, records, repeated, failed, ...(expired !== undefined && { expired }), deleted });
  }
  return totals;
}

/** Invokes the handler as the event source would: a failure retries from the earliest failed record. Returns the records still failing. */
async function invoke(deps: ReplayDeps, batch: readonly KinesisStreamRecord[]): Promise<number> {
  const attempts = deps.attempts ?? 3;
  let pending = batch;
  let delay = deps.retryDelayMs ?? 1000;
  for (let attempt = 1; ; attempt += 1) {
    const response = await deps.handler({ Records: [...pending] });
    const failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    if (failedIds.size === 0) return 0;
    const from = pending.findIndex((record) => failedIds.has(record.kinesis.sequenceNumber));
    pending = pending.slice(from === -1 ? 0 : from);
    if (attempt >= attempts) return pending.length;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay *= 2;
  }
}
