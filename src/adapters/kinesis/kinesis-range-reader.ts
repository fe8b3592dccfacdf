/**
 * Reads a failed range back from the Kinesis stream: GetShardIterator AT_SEQUENCE_NUMBER on the
 * range's start, then GetRecords until the end sequence number, each record in the shape the
 * Lambda event source delivers. A range whose first record is gone (trimmed by the retention,
 * or its shard deleted with it) is a RangeExpiredError.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, type _Record } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { RangeExpiredError, type StreamRangeReader } from '../../devices/ingest-replay.js';
import type { FailedRange } from '../../devices/kinesis-failure-record.js';

/** The Kinesis calls the reader makes (the client, or a test's recorder). */
export type KinesisSender = Pick<KinesisClient, 'send'>;

/** Options of {@link KinesisRangeReader}. */
export interface KinesisRangeReaderOptions {
  /** Records per GetRecords call. @default 1000 */
  readonly limit?: number;
  /**
   * Pause between GetRecords calls on a shard: a shard serves 5 reads a second, shared with the
   * ingest function's own event source. @default 250
   */
  readonly pauseMs?: number;
}

/** Reads ranges of the stream each failure message names. */
export class KinesisRangeReader implements StreamRangeReader {
  constructor(
    private readonly kinesis: KinesisSender,
    private readonly options: KinesisRangeReaderOptions = {},
  ) {}

  async *read(range: FailedRange): AsyncIterable<readonly KinesisStreamRecord[]> {
    const end = BigInt(range.endSequenceNumber);
    let iterator = await this.iterator(range, 'AT_SEQUENCE_NUMBER', range.startSequenceNumber);
    let started = false;
    let last: string | undefined;
    while (iterator) {
      let output;
      try {
        output = await this.kinesis.send(new GetRecordsCommand({ StreamARN: range.streamArn, ShardIterator: iterator, Limit: this.options.limit ?? 1000 }));
      } catch (error) {
        // Iterators live 5 minutes; a slow handler can outlive one. Resume after what was read.
        if ((error as { name?: string }).name !== 'ExpiredIteratorException') throw error;
        iterator = await this.iterator(range, last ? 'AFTER_SEQUENCE_NUMBER' : 'AT_SEQUENCE_NUMBER', last ?? range.startSequenceNumber);
        continue;
      }
      const records = output.Records ?? [];
      if (!started && records.length > 0) {
        started = true;
        if (records[0]!.SequenceNumber !== range.startSequenceNumber) {
          throw new RangeExpiredError(
            `${range.shardId} ${range.startSequenceNumber}..${range.endSequenceNumber}: the stream's oldest record is now ${records[0]!.SequenceNumber}; the range passed the stream's retention`,
          );
        }
      }
      const page = records.filter((record) => BigInt(record.SequenceNumber!) <= end).map((record) => lambdaRecord(range, record));
      if (page.length > 0) {
        last = page[page.length - 1]!.kinesis.sequenceNumber;
        yield page;
      }
      if (records.some((record) => BigInt(record.SequenceNumber!) >= end)) return;
      if (records.length === 0 && output.MillisBehindLatest === 0) {
        if (!started) throw new RangeExpiredError(`${range.shardId} ${range.startSequenceNumber}..${range.endSequenceNumber}: the stream holds none of it; the range passed the stream's retention`);
        throw new Error(`${range.shardId}: the stream ends at ${last ?? 'nothing'} before the range's end ${range.endSequenceNumber}`);
      }
      iterator = output.NextShardIterator;
      if (iterator && (this.options.pauseMs ?? 250) > 0) await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs ?? 250));
    }
    if (!started) throw new RangeExpiredError(`${range.shardId} ${range.startSequenceNumber}..${range.endSequenceNumber}: the shard is closed and holds none of it`);
  }

  private async iterator(range: FailedRange, type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER', sequenceNumber: string): Promise<string | undefined> {
    try {
      const { ShardIterator } = await this.kinesis.send(
        new GetShardIteratorCommand({ StreamARN: range.streamArn, ShardId: range.shardId, ShardIteratorType: type, StartingSequenceNumber: sequenceNumber }),
      );
      return ShardIterator;
    } catch (error) {
      // A shard closed by a reshard is deleted once its last record passes the retention.
      if ((error as { name?: string }).name === 'ResourceNotFoundException') {
        throw new RangeExpiredError(`${range.shardId} of ${range.streamArn} no longer exists: the range passed the stream's retention`, { cause: error });
      }
      throw error;
    }
  }
}

/** A Kinesis record as the event source hands it to the function. */
function lambdaRecord(range: FailedRange, record: _Record): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.PartitionKey!,
      sequenceNumber: record.SequenceNumber!,
      data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${range.shardId}:${record.SequenceNumber!}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: '',
    awsRegion: range.streamArn.split(':')[3] ?? '',
    eventSourceARN: range.streamArn,
  };
}
