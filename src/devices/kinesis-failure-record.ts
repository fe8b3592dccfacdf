/**
 * The message a Kinesis event source mapping sends to its on-failure destination when it gives
 * up on records: batch metadata only (shard, first and last sequence number, how many), never
 * the data, which stays in the stream until its retention passes. The local mapping writes the
 * same message, so one replay reads both.
 */

/** A range of one shard that the mapping gave up on. */
export interface FailedRange {
  readonly streamArn: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly batchSize: number;
  /** ISO time the stream received the first record of the range. */
  readonly approximateArrivalOfFirstRecord?: string;
  readonly approximateArrivalOfLastRecord?: string;
}

/** Lambda's on-failure record for a stream event source (the fields the replay relies on). */
export interface KinesisFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded' | string;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: { readonly statusCode: number; readonly executedVersion: string; readonly functionError?: string };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KinesisBatchInfo: FailedRange;
}

/** The failed range in a failure-queue message, or undefined when it is something else (a presence invocation given up on, garbage). */
export function failedRangeOf(body: string): FailedRange | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const info = (parsed as { KinesisBatchInfo?: Record<string, unknown> } | null)?.KinesisBatchInfo;
  if (!info || typeof info !== 'object') return undefined;
  const { streamArn, shardId, startSequenceNumber, endSequenceNumber, batchSize } = info;
  if (typeof streamArn !== 'string' || typeof shardId !== 'string') return undefined;
  if (!isSequence(startSequenceNumber) || !isSequence(endSequenceNumber) || BigInt(startSequenceNumber) > BigInt(endSequenceNumber)) return undefined;
  return {
    streamArn,
    shardId,
    startSequenceNumber,
    endSequenceNumber,
    batchSize: typeof batchSize === 'number' ? batchSize : 0,
    ...(typeof info.approximateArrivalOfFirstRecord === 'string' && { approximateArrivalOfFirstRecord: info.approximateArrivalOfFirstRecord }),
    ...(typeof info.approximateArrivalOfLastRecord === 'string' && { approximateArrivalOfLastRecord: info.approximateArrivalOfLastRecord }),
  };
}

/** Kinesis sequence numbers are decimal strings (up to 128 digits). */
function isSequence(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,128}$/.test(value);
}

/** Whether `sequenceNumber` lies in the range, ends included. */
export function inRange(range: FailedRange, sequenceNumber: string): boolean {
  const n = BigInt(sequenceNumber);
  return n >= BigInt(range.startSequenceNumber) && n <= BigInt(range.endSequenceNumber);
}
