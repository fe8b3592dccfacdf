import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DynamoDbDeviceRepository } from '../../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbDeviceStateWriter } from '../../../src/adapters/dynamodb/device-state-writer.js';
import { JsonLinesDeadLetterQueue } from '../../../src/adapters/sqs/json-lines-dead-letter-queue.js';
import { DynamoDbTelemetryStore } from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { register, type SqsSender } from '../../../src/cli/commands/dlq.js';
import { TELEMETRY_TABLE } from '../../../src/contracts/tables.js';
import { createIngestHandler } from '../../../src/devices/ingest-handler.js';
import { deadLetterFile } from '../../../src/local/iot-core/local-iot-core.js';
import { ANY_FREE_PORTS, startLocalPlatform } from '../../../src/local/platform.js';
import type { DeadLetter } from '../../../src/ports/dead-letter.js';
import { telemetryJson, telemetryRecord } from '../../devices/ingest-helpers.js';
import { testDevice } from '../../domain/test-device.js';
import { awsTargetTables } from './aws-target-tables.js';
import { useCleanups } from '../../support/cleanups.js';

async function run(args: string[], sqs?: () => SqsSender): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program, (line) => out.push(line), (line) => err.push(line), sqs);
  await program.parseAsync(['node', 'iotctl', 'dlq', ...args]);
  return { out, err };
}

const THING = '00000000-0000-4000-8000-00000000d1e0';
const NOW = Date.now();

describe('iotctl dlq', () => {
  const cleanups = useCleanups();

  it('lists, shows and redrives the letters of a device registered since: stored once, the bad one dead-lettered again', async () => {
    // Prepare: 3 readings of an unregistered thing and 1 unreadable message, dead-lettered by the real handler
    const dataDir = mkdtempSync(join(tmpdir(), 'iotctl-dlq-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
    cleanups.push(() => platform.stop());
    const ingest = createIngestHandler({
      devices: new DynamoDbDeviceStateWriter(platform.doc, platform.tables.devices),
      telemetry: new DynamoDbTelemetryStore(platform.doc, platform.tables.telemetry),
      deadLetters: new JsonLinesDeadLetterQueue(deadLetterFile(dataDir)),
    });
    await ingest({ Records: [1, 2, 3].map((seq) => telemetryRecord(THING, telemetryJson(seq, NOW + seq, { t: seq }), NOW)).concat(telemetryRecord(THING, '{oops', NOW)) });
    await new DynamoDbDeviceRepository(platform.doc, platform.tables.devices).create(testDevice(THING));
    const local = ['--data-dir', dataDir, '--endpoint', platform.dynamodbEndpoint];

    // Act
    const listed = await run(['list', ...local]);
    const shown = await run(['show', '2', ...local]);
    const redriven = await run(['redrive', ...local]);
    const listedAfter = await run(['list', ...local]);
    const again = await run(['redrive', '--reason', 'UNKNOWN_DEVICE', ...local]);

    // Assess
    expect(listed.out.at(-1)).toBe('4 letter(s): INVALID_JSON 1, UNKNOWN_DEVICE 3');
    expect(JSON.parse(shown.out.join('\n'))).toMatchObject({ reason: 'UNKNOWN_DEVICE', thingName: THING, payload: telemetryJson(1, NOW + 1, { t: 1 }) });
    expect(redriven.err).toEqual([]);
    expect(redriven.out).toEqual(['redriven 4 = stored 3 + dead-lettered again 1']);
    expect(listedAfter.out.at(-1)).toBe('1 letter(s): INVALID_JSON 1');
    expect(again.out).toEqual(['redriven 0 = stored 0 + dead-lettered again 0']);
    const points = await new DynamoDbTelemetryStore(platform.doc, platform.tables.telemetry).query({ deviceId: THING, metric: 't', from: NOW - 1, to: NOW + 10, limit: 10 });
    expect(points.items.map((p) => p.seq)).toEqual([1, 2, 3]);
  });

  it('--target aws receives the queue, stores through the tables, sends the bad letter again and deletes what it redrove', async () => {
    // Prepare: the tables on dynalite (AWS_ENDPOINT_URL_DYNAMODB), SQS answered and recorded by a fake sender
    const { fixture, names } = await awsTargetTables(THING, cleanups);
    const letter = (seq: number, payload: string): DeadLetter => ({
      source: 'ingest',
      reason: 'UNKNOWN_DEVICE',
      detail: 'no registered device',
      thingName: THING,
      clientId: THING,
      payload: Buffer.from(payload).toString('base64'),
      payloadBytes: payload.length,
      receivedAt: NOW,
      sequenceNumber: String(49_000 + seq),
      deadLetteredAt: new Date(NOW).toISOString(),
    });
    const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/IngestDeadLetterQueue';
    const sent: Array<{ name: string; input: any }> = [];
    let receives = 0;
    const sqs: SqsSender = {
      send: (async (command: { constructor: { name: string }; input: unknown }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (command instanceof ReceiveMessageCommand) {
          receives += 1;
          return receives > 1 ? { Messages: [] } : { Messages: [{ Body: JSON.stringify(letter(1, telemetryJson(1, NOW, { t: 5 }))), ReceiptHandle: 'r-1' }, { Body: JSON.stringify(letter(2, 'not json')), ReceiptHandle: 'r-2' }] };
        }
        if (command instanceof SendMessageBatchCommand) return { Successful: [{ Id: '0' }], Failed: [] };
        if (command instanceof DeleteMessageBatchCommand) return { Successful: [{ Id: '0' }, { Id: '1' }], Failed: [] };
        throw new Error(`unexpected ${command.constructor.name}`);
      }) as SqsSender['send'],
    };

    // Act
    const { out, err } = await run(
      ['redrive', '--target', 'aws', '--queue-url', queueUrl, '--devices-table', fixture.devicesTable, '--telemetry-table', names[TELEMETRY_TABLE.id]!],
      () => sqs,
    );

    // Assess
    expect(err).toEqual([]);
    expect(out).toEqual(['redriven 2 = stored 1 + dead-lettered again 1']);
    expect(sent.map((s) => s.name)).toEqual(['ReceiveMessageCommand', 'ReceiveMessageCommand', 'SendMessageBatchCommand', 'DeleteMessageBatchCommand']);
    expect(sent[0]!.input).toEqual({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300, WaitTimeSeconds: 1 });
    expect(sent[2]!.input.QueueUrl).toBe(queueUrl);
    expect(sent[2]!.input.Entries).toHaveLength(1);
    expect(JSON.parse(sent[2]!.input.Entries[0].MessageBody)).toMatchObject({ reason: 'INVALID_JSON', thingName: THING, sequenceNumber: '49002' });
    expect(sent[3]!.input).toEqual({ QueueUrl: queueUrl, Entries: [{ Id: '0', ReceiptHandle: 'r-1' }, { Id: '1', ReceiptHandle: 'r-2' }] });
    const points = await new DynamoDbTelemetryStore(fixture.doc, names[TELEMETRY_TABLE.id]!).query({ deviceId: THING, metric: 't', from: NOW - 1, to: NOW + 10, limit: 10 });
    expect(points.items.map((p) => p.seq)).toEqual([1]);
  });

  it('--target aws without the queue says which stack output it needs', async () => {
    // Act
    const { err } = await run(['list', '--target', 'aws']);

    // Assess
    expect(err).toEqual(['iotctl dlq list: --target aws needs --queue-url (the IngestDeadLetterQueueUrl stack output)']);
  });
});
