/**
 * Builds Kinesis-shaped Lambda events from telemetry rule outputs, exactly as the event source
 * mapping delivers them. Used by the local batcher, the tests and the bench, so every caller
 * of the ingest handler produces the cloud's event shape.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { TelemetryRuleOutput } from '../contracts/rules.js';

/** Where a record sits in the (local or simulated) stream. */
export interface KinesisRecordPosition {
  /** Kinesis sequence numbers are decimal strings, increasing within a shard. */
  readonly sequenceNumber: string;
  /** Epoch ms when the stream accepted the record. */
  readonly arrivalMs: number;
  /** @default 'arn:aws:kinesis:us-east-1:000000000000:stream/local-ingest' */
  readonly streamArn?: string;
  /** @default 'shardId-000000000000' */
  readonly shardId?: string;
}

const LOCAL_STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/local-ingest';

/** One Kinesis event record carrying the telemetry rule output (data = base64 of its JSON; partition key = thing name). */
export function kinesisRecordFor(output: TelemetryRuleOutput, position: KinesisRecordPosition): KinesisStreamRecord {
  const shardId = position.shardId ?? 'shardId-000000000000';
  const streamArn = position.streamArn ?? LOCAL_STREAM_ARN;
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: output.thingName,
      sequenceNumber: position.sequenceNumber,
      data: Buffer.from(JSON.stringify(output), 'utf8').toString('base64'),
      approximateArrivalTimestamp: position.arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${position.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/local-ingest',
    awsRegion: streamArn.split(':')[3] ?? 'us-east-1',
    eventSourceARN: streamArn,
  };
}

/** A Kinesis event of the given records. */
export function kinesisEventOf(records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}
