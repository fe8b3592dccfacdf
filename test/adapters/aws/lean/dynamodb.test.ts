/**
 * The lean DynamoDB clients against dynalite (real DynamoDB semantics) and, for what dynalite
 * cannot show, a local endpoint that records the wire: binary attributes both ways, the error
 * names the adapters check, and the document client's translation of every command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, GetItemCommand } from '../../../../src/adapters/aws/lean/dynamodb.js';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '../../../../src/adapters/aws/lean/dynamodb-document.js';
import { RetryQuota } from '../../../../src/adapters/aws/lean/retry-strategy.js';
import { TELEMETRY_TABLE } from '../../../../src/contracts/tables.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite, type LocalDynamo } from '../../../../src/local/dynamodb/dynalite.js';
import { TEST_CREDENTIALS, useAwsStub, type AwsStub } from './aws-stub.js';

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let table: string;
let stub: AwsStub;

beforeAll(async () => {
  dynamo = await startDynalite();
  const names = localTableNames('lean-');
  await ensureTables(dynamo.endpoint, names, [TELEMETRY_TABLE]);
  table = names[TELEMETRY_TABLE.id]!;
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), {
    marshallOptions: { removeUndefinedValues: true },
  });
});
afterAll(async () => {
  doc.destroy();
  await dynamo.stop();
});
useAwsStub((started) => (stub = started));

const stubDoc = () =>
  DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stub.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, retryQuota: new RetryQuota(), sleep: async () => undefined }));
const sentBody = (index = 0) => JSON.parse(stub.requests[index]!.body.toString()) as Record<string, unknown>;

describe('lean DynamoDB document client on dynalite', () => {
  it('stores binary (B) and binary set (BS) attributes and reads them back as Uint8Array', async () => {
    // Prepare
    const blob = new Uint8Array([0, 1, 2, 250, 255]);
    const set = new Set([new Uint8Array([1]), new Uint8Array([2, 3])]);

    // Act
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'bin', sk: '1', blob, set, gone: undefined } }));
    const { Item } = await doc.send<{ Item: Record<string, unknown> }>(new GetCommand({ TableName: table, Key: { pk: 'bin', sk: '1' }, ConsistentRead: true }));
    const raw = await new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }).send<{ Item: Record<string, { B?: Uint8Array }> }>(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'bin' }, sk: { S: '1' } } }),
    );

    // Assess
    expect(Item.blob).toBeInstanceOf(Uint8Array);
    expect([...(Item.blob as Uint8Array)]).toEqual([0, 1, 2, 250, 255]);
    expect([...(Item.set as Set<Uint8Array>)].map((b) => [...b]).sort()).toEqual([[1], [2, 3]]);
    expect('gone' in Item).toBe(false);
    expect(raw.Item.blob!.B).toBeInstanceOf(Uint8Array);
  });

  it('names a failed condition ConditionalCheckFailedException and an oversized item ValidationException', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'c', sk: '1', v: 1 } }));

    // Act
    const conditional = await doc
      .send(new UpdateCommand({ TableName: table, Key: { pk: 'c', sk: '1' }, UpdateExpression: 'SET v = :v', ConditionExpression: 'v = :old', ExpressionAttributeValues: { ':v': 2, ':old': 7 } }))
      .catch((e: unknown) => e);
    const oversized = await doc.send(new PutCommand({ TableName: table, Item: { pk: 'c', sk: '2', big: 'x'.repeat(410 * 1024) } })).catch((e: unknown) => e);

    // Assess
    expect(conditional).toMatchObject({ name: 'ConditionalCheckFailedException', $fault: 'client', $metadata: { httpStatusCode: 400, attempts: 1 } });
    expect(oversized).toMatchObject({ name: 'ValidationException' });
    expect((oversized as Error).message).toMatch(/size/i);
  });

  it('translates Query, BatchWrite, BatchGet and Delete as lib-dynamodb does', async () => {
    // Prepare
    const items = Array.from({ length: 5 }, (_, i) => ({ pk: 'q', sk: String(i), n: i, tags: new Set(['a', `t${i}`]) }));

    // Act
    const written = await doc.send<{ UnprocessedItems: Record<string, unknown> }>(new BatchWriteCommand({ RequestItems: { [table]: items.map((Item) => ({ PutRequest: { Item } })) } }));
    const page = await doc.send<{ Items: Array<Record<string, unknown>>; LastEvaluatedKey?: Record<string, unknown> }>(
      new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'q' }, Limit: 2 }),
    );
    const next = await doc.send<{ Items: Array<Record<string, unknown>> }>(
      new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'q' }, ExclusiveStartKey: page.LastEvaluatedKey }),
    );
    const batch = await doc.send<{ Responses: Record<string, Array<Record<string, unknown>>> }>(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ pk: 'q', sk: '0' }, { pk: 'q', sk: '4' }] } } }),
    );
    const deleted = await doc.send<{ Attributes: Record<string, unknown> }>(new DeleteCommand({ TableName: table, Key: { pk: 'q', sk: '4' }, ReturnValues: 'ALL_OLD' }));

    // Assess
    expect(written.UnprocessedItems).toEqual({});
    expect(page.Items).toEqual(items.slice(0, 2));
    expect(page.LastEvaluatedKey).toEqual({ pk: 'q', sk: '1' });
    expect(next.Items).toEqual(items.slice(2));
    expect(batch.Responses[table]!.map((i) => i.n).sort()).toEqual([0, 4]);
    expect(deleted.Attributes).toEqual(items[4]);
  });
});

describe('lean DynamoDB client on the wire', () => {
  it('sends binary attributes base64 and reads B and BS of the answer as Uint8Array', async () => {
    // Prepare
    stub.answer = () => ({ body: { Item: { pk: { S: 'p' }, blob: { B: 'AAH/' }, set: { BS: ['AQ==', 'AgM='] }, nested: { M: { B: { S: 'a map key named B' } } } } } });
    const client = new DynamoDBClient({ endpoint: stub.url, region: 'us-east-1', credentials: TEST_CREDENTIALS });

    // Act
    await client.send(new GetItemCommand({ TableName: 'T', Key: { pk: { B: new Uint8Array([0, 1, 255]) } } }));
    const output = await client.send<{ Item: Record<string, Record<string, unknown>> }>(new GetItemCommand({ TableName: 'T', Key: { pk: { S: 'p' } } }));

    // Assess
    expect(sentBody()).toEqual({ TableName: 'T', Key: { pk: { B: 'AAH/' } } });
    expect(output.Item.blob!.B).toEqual(new Uint8Array([0, 1, 255]));
    expect(output.Item.set!.BS).toEqual([new Uint8Array([1]), new Uint8Array([2, 3])]);
    expect(output.Item.nested).toEqual({ M: { B: { S: 'a map key named B' } } });
  });

  it('marshalls TransactWriteItems and surfaces TransactionCanceledException with its CancellationReasons', async () => {
    // Prepare
    const reasons = [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }];
    stub.answer = () => ({
      status: 400,
      body: { __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException', Message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]', CancellationReasons: reasons },
    });

    // Act
    const error = await stubDoc()
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'T', Item: { id: 'a', n: 1 } } },
            { Update: { TableName: 'T', Key: { id: 'b' }, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :old', ExpressionAttributeValues: { ':n': 2, ':old': 1 } } },
          ],
        }),
      )
      .catch((e: unknown) => e);

    // Assess
    expect(stub.requests[0]!.headers['x-amz-target']).toBe('DynamoDB_20120810.TransactWriteItems');
    expect(sentBody()).toEqual({
      TransactItems: [
        { Put: { TableName: 'T', Item: { id: { S: 'a' }, n: { N: '1' } } } },
        { Update: { TableName: 'T', Key: { id: { S: 'b' } }, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :old', ExpressionAttributeValues: { ':n': { N: '2' }, ':old': { N: '1' } } } },
      ],
    });
    expect(error).toMatchObject({ name: 'TransactionCanceledException', CancellationReasons: reasons });
    expect((error as Error).message).toMatch(/ConditionalCheckFailed/);
  });

  it('retries ProvisionedThroughputExceededException and returns the answer once DynamoDB takes it', async () => {
    // Prepare
    stub.answer = (_, index) =>
      index < 2 ? { status: 400, body: { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' } } : { body: { Attributes: { n: { N: '3' } } } };

    // Act
    const output = await stubDoc().send<{ Attributes: Record<string, unknown>; $metadata: { attempts: number } }>(
      new UpdateCommand({ TableName: 'T', Key: { id: 'a' }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'ALL_NEW' }),
    );

    // Assess
    expect(stub.requests).toHaveLength(3);
    expect(output.Attributes).toEqual({ n: 3 });
    expect(output.$metadata.attempts).toBe(3);
  });
});
