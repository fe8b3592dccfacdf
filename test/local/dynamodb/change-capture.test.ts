import { BatchWriteCommand, DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { ALL_TABLES } from '../../../src/contracts/tables.js';
import { capturedTables, SequenceClock, startChangeCapture, type ChangeCapture } from '../../../src/local/dynamodb/change-capture.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite, type LocalDynamo } from '../../../src/local/dynamodb/dynalite.js';

describe('change capture proxy', () => {
  let dynamo: LocalDynamo;
  let capture: ChangeCapture;
  let doc: DynamoDBDocumentClient;
  let records: DynamoDBRecord[];
  const names = localTableNames('capture-');
  const devices = names.Devices!;

  beforeEach(async () => {
    dynamo = await startDynalite();
    await ensureTables(dynamo.endpoint, names);
    records = [];
    capture = await startChangeCapture({
      upstream: dynamo.endpoint,
      tables: capturedTables(ALL_TABLES, names),
      onRecord: (record) => records.push(record),
    });
    doc = createDocumentClient({ endpoint: capture.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  });

  afterEach(async () => {
    doc.destroy();
    await capture.stop();
    await dynamo.stop();
  });

  it('emits INSERT, MODIFY and REMOVE records with the images of each write', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: devices, Item: { id: 'a', name: 'one', version: 1 } }));

    // Act
    await doc.send(
      new UpdateCommand({
        TableName: devices,
        Key: { id: 'a' },
        UpdateExpression: 'SET #n = :n ADD version :one',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':n': 'two', ':one': 1 },
      }),
    );
    await doc.send(new DeleteCommand({ TableName: devices, Key: { id: 'a' } }));

    // Assess
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    const [insert, modify, remove] = records;
    expect(insert).toMatchObject({
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL_REGION,
      eventSourceARN: expect.stringMatching(new RegExp(`^arn:aws:dynamodb:${LOCAL_REGION}:\\d{12}:table/${devices}/stream/`)),
      dynamodb: {
        Keys: { id: { S: 'a' } },
        NewImage: { id: { S: 'a' }, name: { S: 'one' }, version: { N: '1' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(insert!.dynamodb!.OldImage).toBeUndefined();
    expect(insert!.eventID).toMatch(/^[0-9a-f]{32}$/);
    expect(insert!.dynamodb!.SizeBytes).toBeGreaterThan(0);
    expect(Number.isInteger(insert!.dynamodb!.ApproximateCreationDateTime)).toBe(true);
    expect(modify!.dynamodb).toMatchObject({
      OldImage: { id: { S: 'a' }, name: { S: 'one' }, version: { N: '1' } },
      NewImage: { id: { S: 'a' }, name: { S: 'two' }, version: { N: '2' } },
    });
    expect(remove!.dynamodb!.OldImage).toEqual({ id: { S: 'a' }, name: { S: 'two' }, version: { N: '2' } });
    expect(remove!.dynamodb!.NewImage).toBeUndefined();
    const sequences = records.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    expect(sequences[0]! < sequences[1]! && sequences[1]! < sequences[2]!).toBe(true);
    expect(insert!.dynamodb!.SequenceNumber).toMatch(/^[1-9][0-9]{20,39}$/);
    expect(new Set(records.map((r) => r.eventID)).size).toBe(3);
  });

  it('emits nothing for a failed conditional update, an identical put or an absent delete', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: devices, Item: { id: 'b', name: 'x', tags: new Set(['p', 'q']) } }));
    records.length = 0;

    // Act
    const failed = doc.send(
      new UpdateCommand({
        TableName: devices,
        Key: { id: 'b' },
        UpdateExpression: 'SET #n = :n',
        ConditionExpression: '#n = :expected',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':n': 'y', ':expected': 'not-x' },
      }),
    );
    await expect(failed).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    await doc.send(new PutCommand({ TableName: devices, Item: { tags: new Set(['q', 'p']), name: 'x', id: 'b' } }));
    await doc.send(new DeleteCommand({ TableName: devices, Key: { id: 'absent' } }));

    // Assess
    expect(records).toEqual([]);
  });

  it('emits one record per changed item of a BatchWrite and none for tables without a stream', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: devices, Item: { id: 'gone', name: 'old' } }));
    records.length = 0;

    // Act
    await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [devices]: [
            { PutRequest: { Item: { id: 'c1', name: 'c' } } },
            { PutRequest: { Item: { id: 'c2', name: 'c' } } },
            { DeleteRequest: { Key: { id: 'gone' } } },
          ],
          [names.Stats!]: [{ PutRequest: { Item: { pk: 'counter', n: 1 } } }],
        },
      }),
    );

    // Assess
    expect(records.map((r) => [r.eventName, r.dynamodb!.Keys!.id!.S])).toEqual([
      ['INSERT', 'c1'],
      ['INSERT', 'c2'],
      ['REMOVE', 'gone'],
    ]);
    expect(records.every((r) => r.eventSourceARN!.includes(`table/${devices}/`))).toBe(true);
  });

  it('keeps a consistent chain of images under concurrent writes to one item', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: devices, Item: { id: 'hot', count: 0 } }));
    records.length = 0;

    // Act
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? doc.send(new PutCommand({ TableName: devices, Item: { id: 'hot', count: 1000 + i } }))
          : doc.send(
              new UpdateCommand({
                TableName: devices,
                Key: { id: 'hot' },
                UpdateExpression: 'ADD #c :one',
                ExpressionAttributeNames: { '#c': 'count' },
                ExpressionAttributeValues: { ':one': 1 },
              }),
            ),
      ),
    );

    // Assess
    expect(records).toHaveLength(30);
    let previous: unknown = { id: { S: 'hot' }, count: { N: '0' } };
    for (const record of records) {
      expect(record.dynamodb!.OldImage).toEqual(previous);
      previous = record.dynamodb!.NewImage;
    }
    const sequences = records.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    expect(sequences.every((s, i) => i === 0 || s > sequences[i - 1]!)).toBe(true);
  });

  it('passes dynalite\'s own validation error through for a write with a key of the wrong type', async () => {
    // Act
    const put = doc.send(new PutCommand({ TableName: devices, Item: { id: 42, name: 'numeric id' } }));
    const batch = doc.send(new BatchWriteCommand({ RequestItems: { [devices]: [{ DeleteRequest: { Key: { id: 7 } } }] } }));

    // Assess
    await expect(put).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    await expect(batch).rejects.toMatchObject({ name: 'ValidationException' });
    expect(records).toEqual([]);
  });

  it('forwards reads and errors of other operations untouched', async () => {
    // Act
    const put = doc.send(new PutCommand({ TableName: 'no-such-table', Item: { id: 'x' } }));

    // Assess
    await expect(put).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(records).toEqual([]);
  });
});

describe('SequenceClock', () => {
  it('increases strictly even when the clock stands still or goes back', () => {
    // Prepare
    const times = [5, 5, 4, 6];
    const clock = new SequenceClock(() => times.shift() ?? 6);

    // Act
    const values = [clock.next(), clock.next(), clock.next(), clock.next()].map(BigInt);

    // Assess
    expect(values).toEqual([5_000_000_000n, 5_000_000_001n, 5_000_000_002n, 6_000_000_000n]);
  });
});
