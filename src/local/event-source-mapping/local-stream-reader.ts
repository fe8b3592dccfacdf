/**
 * Reads a range of the local ingest stream back from its directory (the durable log keeps the
 * records for the stream's retention), for `iotctl ingest replay` while `iotctl local` runs.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { inRange, type FailedRange } from '../../devices/kinesis-failure-record.js';
import { RangeExpiredError, type StreamRangeReader } from '../../devices/ingest-replay.js';
import { readLogged } from './durable-log.js';

/** The local stream under `dir` (`<data dir>/streams/ingest`). */
export class LocalStreamRangeReader implements StreamRangeReader {
  constructor(private readonly dir: string) {}

  async *read(range: FailedRange): AsyncIterable<readonly KinesisStreamRecord[]> {
    const records = readLogged<KinesisStreamRecord>(
      this.dir,
      range.shardId,
      (record) => record.kinesis.sequenceNumber,
      (record) => inRange(range, record.kinesis.sequenceNumber),
    ).sort((a, b) => compare(a.kinesis.sequenceNumber, b.kinesis.sequenceNumber));
    const first = records[0]?.kinesis.sequenceNumber;
    if (first !== range.startSequenceNumber) {
      throw new RangeExpiredError(
        `${range.shardId} ${range.startSequenceNumber}..${range.endSequenceNumber} is no longer in the local stream (${records.length} of its records left): it passed the retention`,
      );
    }
    yield records;
  }
}

function compare(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
