import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { DEVICES_TABLE } from '../../src/contracts/tables.js';
import { InMemoryDeadLetterQueue } from '../../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { createPresenceHandler } from '../../src/devices/presence-handler.js';
import { presenceEvent, seedDevice } from './ingest-helpers.js';
import { useLocalDynamo } from '../support/local-dynamo.js';

const dynamo = useLocalDynamo({ tables: [DEVICES_TABLE], prefix: 'presence-' });
const table = dynamo.table(DEVICES_TABLE);

function setup() {
  const deadLetters = new InMemoryDeadLetterQueue();
  const outcomes: string[] = [];
  const handler = createPresenceHandler({
    devices: new DynamoDbDeviceStateWriter(dynamo.doc, table),
    deadLetters,
    now: () => Date.parse('2026-11-26T12:00:00.000Z'),
    observer: (result) => outcomes.push(result),
  });
  return { handler, deadLetters, outcomes };
}

describe('createPresenceHandler', () => {
  it('turns a device ONLINE on connected and OFFLINE with the reason on a later disconnected', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table);
    const { handler, outcomes } = setup();

    // Act
    await handler(presenceEvent(id, 'connected', 1000, 1));
    const afterConnect = (await dynamo.doc.send(new GetCommand({ TableName: table, Key: { id } }))).Item;
    await handler(presenceEvent(id, 'disconnected', 2000, 2, 'MQTT_KEEP_ALIVE_TIMEOUT'));

    // Assess
    expect(afterConnect?.status).toBe('ONLINE');
    expect((await dynamo.doc.send(new GetCommand({ TableName: table, Key: { id } }))).Item).toMatchObject({
      status: 'OFFLINE',
      disconnectReason: 'MQTT_KEEP_ALIVE_TIMEOUT',
      version: 3,
    });
    expect(outcomes).toEqual(['applied', 'applied']);
  });

  it.each([
    ['not an object', 'connected'],
    ['no clientId', { timestamp: 1, eventType: 'connected', versionNumber: 1 }],
    ['an unknown eventType', { clientId: 'a', timestamp: 1, eventType: 'subscribed', versionNumber: 1 }],
    ['a string timestamp', { clientId: 'a', timestamp: '1', eventType: 'connected', versionNumber: 1 }],
    ['a negative versionNumber', { clientId: 'a', timestamp: 1, eventType: 'connected', versionNumber: -1 }],
  ])('dead-letters an event with %s and writes nothing', async (_name, event) => {
    // Prepare
    const { handler, deadLetters } = setup();

    // Act
    const result = await handler(event);

    // Assess
    expect(result).toBe('invalid');
    expect(deadLetters.letters).toHaveLength(1);
    expect(deadLetters.letters[0]).toMatchObject({ source: 'presence', reason: 'INVALID_EVENT' });
    expect(JSON.parse(Buffer.from(deadLetters.letters[0]!.payload, 'base64').toString('utf8'))).toEqual(event);
  });

  it('ignores a client that is not a registered device', async () => {
    const { handler, deadLetters } = setup();
    expect(await handler(presenceEvent('grpc-service-relay', 'connected', 1, 1))).toBe('unknown');
    expect(deadLetters.letters).toEqual([]);
  });
});
