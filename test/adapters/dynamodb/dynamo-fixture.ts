/** A throwaway dynalite with the platform's tables, for adapter tests. */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { LIST_PK } from '../../../src/adapters/dynamodb/device-item.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, localTableNames, startDynalite } from '../../../src/local/dynamodb/dynalite.js';

export interface DynamoFixture {
  /** dynalite's own endpoint. */
  readonly endpoint: string;
  readonly doc: DynamoDBDocumentClient;
  readonly devicesTable: string;
  readonly statsTable: string;
  stop(): Promise<void>;
}

/** Starts dynalite in memory on 127.0.0.1:0 and creates every table. */
export async function startDynamoFixture(): Promise<DynamoFixture> {
  const dynamo = await startDynalite();
  const names = localTableNames('test-');
  await ensureTables(dynamo.endpoint, names);
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint: dynamo.endpoint,
    doc,
    devicesTable: names.Devices!,
    statsTable: names.Stats!,
    stop: async () => {
      doc.destroy();
      await dynamo.stop();
    },
  };
}

/** Every device item, read through the byCreated index (never a Scan), in index order. */
export async function allDeviceIds(doc: DynamoDBDocumentClient, tableName: string): Promise<string[]> {
  const ids: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: 'byCreated',
        KeyConditionExpression: 'listPk = :pk',
        ExpressionAttributeValues: { ':pk': LIST_PK },
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    ids.push(...(page.Items ?? []).map((item) => item.id as string));
    start = page.LastEvaluatedKey;
  } while (start);
  return ids;
}
