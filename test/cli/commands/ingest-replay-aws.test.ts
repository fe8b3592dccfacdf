import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { KinesisSender } from '../../../src/adapters/kinesis/kinesis-range-reader.js';
import { DynamoDbTelemetryStore } from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import type { SqsSender } from '../../../src/cli/commands/dlq.js';
import { register } from '../../../src/cli/commands/ingest.js';
import { TELEMETRY_TABLE } from '../../../src/contracts/tables.js';
import { telemetryJson } from '../../devices/ingest-helpers.js';
import { awsTargetTables } from './aws-target-tables.js';
import { useCleanups } from '../../support/cleanups.js';

const THING = '00000000-0000-4000-8000-0000000ae901';
const NOW = Date.now();
const STREAM = 'arn:aws:kinesis:eu-west-1:123456789012:stream/PlatformStack-IngestStream';
const SHARD = 'shardId-000000000003';
const FAILURES = 'https://sqs.eu-west-1.amazonaws.com/123456789012/IngestFailureQueue';
const LETTERS = 'https://sqs.eu-west-1.amazonaws.com/123456789012/IngestDeadLetterQueue';

/** What the Kinesis event source sends to its on-failure destination. */
function failure(start: string, end: string, batchSize: number): string {
  return JSON.stringify({
    requestContext: { requestId: 'c5b5-1', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Ingest', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date(NOW).toISOString(),
    KinesisBatchInfo: { shardId: SHARD, startSequenceNumber: start, endSequenceNumber: end, approximateArrivalOfFirstRecord: new Date(NOW).toISOString(), approximateArrivalOfLastRecord: new Date(NOW).toISOString(), batchSize, streamArn: STREAM },
  });
}

/** A record as GetRecords returns it: the telemetry rule's output. */
function streamRecord(sequence: number, payload: string) {
  const output = { payload: Buffer.from(payload).toString('base64'), thingName: THING, clientId: THING, receivedAt: NOW };
  return { SequenceNumber: String(sequence), PartitionKey: THING, Data: Buffer.from(JSON.stringify(output)), ApproximateArrivalTimestamp: new Date(NOW) };
}

describe('iotctl ingest replay --target aws', () => {
  const cleanups = useCleanups();

  it('reads each failed range from its shard, stores it through the tables, deletes only the messages whose range is done', async () => {
    // Prepare: tables on dynalite; SQS and Kinesis answered and recorded
    const { fixture, names } = await awsTargetTables(THING, cleanups);
    const sent: Array<{ name: string; input: any }> = [];
    let receives = 0;
    const sqs: SqsSender = {
      send: (async (command: { constructor: { name: string }; input: unknown }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (command instanceof ReceiveMessageCommand) {
          receives += 1;
          if (receives > 1) return { Messages: [] };
          return {
            Messages: [
              { MessageId: 'm-range', ReceiptHandle: 'r-range', Body: failure('101', '103', 3) },
              { MessageId: 'm-presence', ReceiptHandle: 'r-presence', Body: JSON.stringify({ requestContext: { condition: 'RetriesExhausted' }, requestPayload: {} }) },
              { MessageId: 'm-aged', ReceiptHandle: 'r-aged', Body: failure('900', '910', 11) },
              { MessageId: 'm-overlap', ReceiptHandle: 'r-overlap', Body: failure('102', '103', 2) },
            ],
          };
        }
        if (command instanceof SendMessageBatchCommand) return { Successful: [{ Id: '0' }], Failed: [] };
        if (command instanceof DeleteMessageCommand) return {};
        throw new Error(`unexpected ${command.constructor.name}`);
      }) as SqsSender['send'],
    };
    const held = [streamRecord(101, telemetryJson(1, NOW + 1, { t: 1 })), streamRecord(102, 'not json'), streamRecord(103, telemetryJson(3, NOW + 3, { t: 3 })), streamRecord(104, telemetryJson(4, NOW + 4, { t: 4 }))];
    const kinesis: KinesisSender = {
      send: (async (command: { constructor: { name: string }; input: any }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (command instanceof GetShardIteratorCommand) return { ShardIterator: `it-${command.input.StartingSequenceNumber}` };
        if (command instanceof GetRecordsCommand) {
          const from = Number(String(command.input.ShardIterator).slice(3));
          // The trim horizon is 101: an older start reads from there, as Kinesis does past the retention.
          const records = from >= 900 ? [streamRecord(950, telemetryJson(9, NOW, { t: 9 }))] : held.filter((r) => Number(r.SequenceNumber) >= from);
          return { Records: records, NextShardIterator: 'it-next', MillisBehindLatest: 0 };
        }
        throw new Error(`unexpected ${command.constructor.name}`);
      }) as KinesisSender['send'],
    };
    const out: string[] = [];
    const err: string[] = [];
    const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program, (line) => out.push(line), (line) => err.push(line), { sqs: () => sqs, kinesis: () => kinesis, getRecordsPauseMs: 0 });

    // Act
    await program.parseAsync([
      'node', 'iotctl', 'ingest', 'replay', '--target', 'aws',
      '--failure-queue-url', FAILURES, '--dead-letter-queue-url', LETTERS,
      '--devices-table', fixture.devicesTable, '--telemetry-table', names[TELEMETRY_TABLE.id]!,
    ]);

    // Assess
    expect(err).toEqual(['ingest: WARN Records dead-lettered {"reasons":{"INVALID_JSON":1}}']);
    expect(out).toEqual([
      `${SHARD} 101..103 (3 record(s)): 3 sent, 0 failed; message deleted`,
      `${SHARD} 900..910 (11 record(s)): ${SHARD} 900..910: the stream's oldest record is now 950; the range passed the stream's retention; message kept (--drop-expired deletes it)`,
      `${SHARD} 102..103 (2 record(s)): 0 sent, 2 already sent through an overlapping range, 0 failed; message deleted`,
      'replayed 3 records = stored 2 + dead-lettered 1 + failed 0; 2 record(s) named by two ranges sent once, 1 range(s) aged out of the stream, 1 other message(s) left in the queue',
    ]);
    expect(process.exitCode).toBe(1);
    expect(sent.map((s) => s.name)).toEqual([
      'ReceiveMessageCommand', 'ReceiveMessageCommand',
      'GetShardIteratorCommand', 'GetRecordsCommand', 'SendMessageBatchCommand', 'DeleteMessageCommand',
      'GetShardIteratorCommand', 'GetRecordsCommand',
      'GetShardIteratorCommand', 'GetRecordsCommand', 'DeleteMessageCommand',
    ]);
    expect(sent[0]!.input).toEqual({ QueueUrl: FAILURES, MaxNumberOfMessages: 10, VisibilityTimeout: 3600, WaitTimeSeconds: 1 });
    expect(sent[2]!.input).toEqual({ StreamARN: STREAM, ShardId: SHARD, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '101' });
    expect(sent[3]!.input).toEqual({ StreamARN: STREAM, ShardIterator: 'it-101', Limit: 1000 });
    expect(sent[4]!.input.QueueUrl).toBe(LETTERS);
    expect(sent[4]!.input.Entries.map((e: { MessageBody: string }) => JSON.parse(e.MessageBody))).toMatchObject([{ reason: 'INVALID_JSON', thingName: THING, sequenceNumber: '102' }]);
    expect(sent[5]!.input).toEqual({ QueueUrl: FAILURES, ReceiptHandle: 'r-range' });
    expect(sent[6]!.input).toEqual({ StreamARN: STREAM, ShardId: SHARD, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '900' });
    expect(sent[8]!.input).toEqual({ StreamARN: STREAM, ShardId: SHARD, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '102' });
    expect(sent[10]!.input).toEqual({ QueueUrl: FAILURES, ReceiptHandle: 'r-overlap' });
    const points = await new DynamoDbTelemetryStore(fixture.doc, names[TELEMETRY_TABLE.id]!).query({ deviceId: THING, metric: 't', from: NOW - 1, to: NOW + 10, limit: 10 });
    expect(points.items.map((p) => p.seq)).toEqual([1, 3]);
  });

  it('says which stack outputs it needs', async () => {
    // Prepare
    const err: string[] = [];
    const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program, () => {}, (line) => err.push(line));

    // Act
    await program.parseAsync(['node', 'iotctl', 'ingest', 'replay', '--target', 'aws']);

    // Assess
    expect(err[0]).toMatch(/^iotctl ingest replay: --target aws needs --failure-queue-url, --dead-letter-queue-url, --devices-table and --telemetry-table/);
    expect(process.exitCode).toBe(1);
  });
});
