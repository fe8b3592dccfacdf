/**
 * Every function's real Lambda module, imported as at a cold start and invoked with a Lambda
 * context object: the log lines it writes during an invocation carry that invocation's request
 * id and whether it was a cold start, as Powertools writes them to CloudWatch.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBStreamEvent, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { toDeviceItem } from '../../src/adapters/dynamodb/device-item.js';
import type { DirectLambdaEvent } from '../../src/graphql/appsync-router.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/local/dynamodb/dynalite.js';
import { startDynamoFixture, type DynamoFixture } from '../adapters/dynamodb/dynamo-fixture.js';
import { lambdaContext } from './lambda-context.js';

type Handler = (event: never, context: Context) => Promise<unknown>;

/** The JSON log lines (not EMF metric documents) written while `act` runs; warnings and errors go to stderr, which Lambda also ships. */
async function logLines(act: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(chunk.toString());
    return true;
  };
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    await act().catch(() => undefined);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{') && !line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Lambda log lines', () => {
  let fixture: DynamoFixture;
  const savedEnv = { ...process.env };
  const handlers: Record<string, Handler> = {};

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    Object.assign(process.env, {
      DEVICES_TABLE_NAME: fixture.devicesTable,
      // No such table: the GraphQL stats query fails unexpectedly, which the resolver logs.
      STATS_TABLE_NAME: 'no-such-stats-table',
      ALARMS_TABLE_NAME: 'test-Alarms',
      TELEMETRY_STORE: 'dynamodb',
      TELEMETRY_TABLE_NAME: 'no-such-telemetry-table',
      COMMANDS_TABLE_NAME: 'no-such-commands-table',
      TWINS_TABLE_NAME: 'no-such-twins-table',
      DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:9/000000000000/never-used',
      PAGE_TOKEN_SECRET: 'log-context-test-secret-0123456789',
      AWS_ENDPOINT_URL: fixture.endpoint,
      AWS_REGION: LOCAL_REGION,
      // As the Lambda runtime sets it for an on-demand function (Powertools tells cold starts by it).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      POWERTOOLS_METRICS_NAMESPACE: 'IotPlatformTest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    for (const name of ['ingest', 'presence', 'events', 'graphql', 'alarm-sweep']) {
      process.env.POWERTOOLS_SERVICE_NAME = name;
      handlers[name] = ((await import(`../../lambdas/${name}/index.ts`)) as { handler: Handler }).handler;
    }
  });
  afterAll(async () => {
    process.env = savedEnv;
    await fixture?.stop();
  });

  const at = new Date().toISOString();
  const device = { id: '0d8a0e0c-6b8c-4a0b-9c3e-8f1f2a3b4c5d', name: 'Boiler', type: 'sensor', status: 'ONLINE' as const, createdAt: at, updatedAt: at, metadata: {}, readings: {}, version: 1 };
  // Each event makes its function write at least one log line while it runs.
  const invocations: Array<[string, unknown]> = [
    ['ingest', { Records: [] } satisfies KinesisStreamEvent],
    ['presence', { clientId: 'unregistered-thing', timestamp: Date.now(), eventType: 'connected', versionNumber: 1 }],
    // A device record without a sequence number cannot be de-duplicated: the handler logs it as failed.
    [
      'events',
      {
        Records: [
          {
            eventID: 'e1',
            eventName: 'INSERT',
            eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/Devices/stream/1',
            dynamodb: { Keys: marshall({ id: device.id }), NewImage: marshall(toDeviceItem(device)) } as never,
          },
        ],
      } satisfies DynamoDBStreamEvent,
    ],
    [
      'graphql',
      {
        arguments: {},
        identity: { sub: 's', issuer: 'i', username: 'u', claims: { 'cognito:groups': ['viewer'] }, sourceIp: ['127.0.0.1'], defaultAuthStrategy: 'ALLOW', groups: ['viewer'] },
        source: null,
        request: { headers: {}, domainName: null },
        prev: null,
        info: { fieldName: 'stats', parentTypeName: 'Query', variables: {}, selectionSetList: [], selectionSetGraphQL: '' },
        stash: {},
      } as unknown as DirectLambdaEvent,
    ],
    // The scheduled sweep logs its summary on every run.
    ['alarm-sweep', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }],
  ];

  it.each(invocations)('%s: every line of an invocation carries its request id and cold_start', async (name, event) => {
    // Prepare
    const cold = lambdaContext(name);
    const warm = lambdaContext(name);

    // Act
    const first = await logLines(() => handlers[name]!(event as never, cold));
    const second = await logLines(() => handlers[name]!(event as never, warm));

    // Assess
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    for (const line of first) expect(line).toMatchObject({ function_request_id: cold.awsRequestId, cold_start: true, function_name: name, service: name });
    for (const line of second) expect(line).toMatchObject({ function_request_id: warm.awsRequestId, cold_start: false });
  });
});
