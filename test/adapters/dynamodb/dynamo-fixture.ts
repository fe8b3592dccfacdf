/** A throwaway dynalite with the platform's tables, for adapter tests. */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** A running {@link startAnswerRewriter} proxy. */
export interface AnswerRewriter {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A proxy in front of `target` that passes every request through and lets `rewrite` change the
 * body of each answer (given the request's body and headers): DynamoDB behaviour dynalite lacks, on the wire,
 * so it reaches the SDK and the lean client alike.
 */
export async function startAnswerRewriter(
  target: string,
  rewrite: (request: string, answer: string, headers: IncomingHttpHeaders) => string,
): Promise<AnswerRewriter> {
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = httpRequest(new URL(incoming.url ?? '/', target), { method: incoming.method, headers: incoming.headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          const text = rewrite(body.toString('utf8'), Buffer.concat(parts).toString('utf8'), incoming.headers);
          // The body changed, so its checksum goes.
          const headers: Record<string, unknown> = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) };
          delete headers['x-amz-crc32'];
          outgoing.writeHead(answer.statusCode ?? 500, headers as IncomingHttpHeaders);
          outgoing.end(text);
        });
      });
      forward.on('error', (error) => outgoing.destroy(error));
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
