/**
 * Every function the stack deploys (LAMBDA_FUNCTIONS, the list lib/ builds them from), its real
 * Lambda module imported as at a cold start and invoked with a Lambda context object: the log
 * lines it writes during an invocation carry that invocation's request id and whether it was a
 * cold start, as Powertools writes them to CloudWatch. A function added to the list does not
 * compile here until it has an invocation that makes it log.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBStreamEvent, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { instanceItem } from '../../src/adapters/dynamodb/alarm-store.js';
import { DynamoDbCommandRepository } from '../../src/adapters/dynamodb/command-repository.js';
import { toDeviceItem } from '../../src/adapters/dynamodb/device-item.js';
import type { AlarmInstance } from '../../src/alarms/alarm-state.js';
import { LAMBDA_FUNCTIONS, type LambdaFunctionKey } from '../../src/contracts/lambda-functions.js';
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

/**
 * SQS as far as the dead-letter queue uses it (SendMessageBatch, JSON protocol, with the body MD5s
 * the SDK checks): the device control function has no local SQS, and its refusals must land.
 */
async function fakeSqs(): Promise<Server> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { Entries = [] } = JSON.parse(body || '{}') as { Entries?: Array<{ Id: string; MessageBody: string }> };
      const Successful = Entries.map((e) => ({ Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex') }));
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ Successful, Failed: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('Lambda log lines', () => {
  let fixture: DynamoFixture;
  let sqs: Server;
  const savedEnv = { ...process.env };
  const handlers: Partial<Record<LambdaFunctionKey, Handler>> = {};

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    sqs = await fakeSqs();
    const sqsUrl = `http://127.0.0.1:${(sqs.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      DEVICES_TABLE_NAME: fixture.devicesTable,
      // No such table: the GraphQL stats query fails unexpectedly, which the resolver logs.
      STATS_TABLE_NAME: 'no-such-stats-table',
      ALARMS_TABLE_NAME: 'test-Alarms',
      TELEMETRY_STORE: 'dynamodb',
      TELEMETRY_TABLE_NAME: 'no-such-telemetry-table',
      COMMANDS_TABLE_NAME: 'test-Commands',
      TWINS_TABLE_NAME: 'test-Twins',
      DEAD_LETTER_QUEUE_URL: `${sqsUrl}/000000000000/dead-letters`,
      // EventBridge and SNS have no local stand-in: they answer from dynalite's endpoint with an
      // error, so the alarm-events function logs the transition it could not publish.
      ALARM_EVENT_BUS_NAME: 'log-context-bus',
      ALARM_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:log-context',
      PAGE_TOKEN_SECRET: 'log-context-test-secret-0123456789',
      AWS_ENDPOINT_URL: fixture.endpoint,
      AWS_ENDPOINT_URL_SQS: sqsUrl,
      AWS_REGION: LOCAL_REGION,
      // As the Lambda runtime sets it for an on-demand function (Powertools tells cold starts by it).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_MAX_ATTEMPTS: '1',
      POWERTOOLS_METRICS_NAMESPACE: 'IotPlatformTest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    for (const [key, fn] of Object.entries(LAMBDA_FUNCTIONS) as Array<[LambdaFunctionKey, (typeof LAMBDA_FUNCTIONS)[LambdaFunctionKey]]>) {
      process.env.POWERTOOLS_SERVICE_NAME = fn.serviceName;
      handlers[key] = ((await import(`../../${fn.entry}`)) as { handler: Handler }).handler;
    }
  });
  afterAll(async () => {
    process.env = savedEnv;
    sqs?.close();
    await fixture?.stop();
  });

  const at = new Date().toISOString();
  const device = { id: '0d8a0e0c-6b8c-4a0b-9c3e-8f1f2a3b4c5d', name: 'Boiler', type: 'sensor', status: 'ONLINE' as const, createdAt: at, updatedAt: at, metadata: {}, readings: {}, version: 1 };
  const past = new Date(Date.now() - 60_000).toISOString();
  const alarm: AlarmInstance = {
    id: `rule-1.${device.id}`,
    ruleId: 'rule-1',
    deviceId: device.id,
    severity: 'CRITICAL',
    state: 'ACTIVE',
    rev: 1,
    changedAt: at,
    notify: true,
    last: { alarmId: `rule-1.${device.id}`, ruleId: 'rule-1', ruleName: 'Too hot', ruleVersion: 1, deviceId: device.id, severity: 'CRITICAL', rev: 1, from: 'NORMAL', to: 'ACTIVE', at, reason: 'temperature 91 > 90', actor: { type: 'SYSTEM', id: 'evaluator' } } as never,
  };
  // Each event makes its function write at least one log line while it runs; `event` runs before every invocation.
  const invocations: Record<LambdaFunctionKey, () => unknown> = {
    ingest: () => ({ Records: [] }) satisfies KinesisStreamEvent,
    presence: () => ({ clientId: 'unregistered-thing', timestamp: Date.now(), eventType: 'connected', versionNumber: 1 }),
    // A device record without a sequence number cannot be de-duplicated: the handler logs it as failed.
    changeFeed: () =>
      ({
        Records: [
          {
            eventID: 'e1',
            eventName: 'INSERT',
            eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/Devices/stream/1',
            dynamodb: { Keys: marshall({ id: device.id }), NewImage: marshall(toDeviceItem(device)) } as never,
          },
        ],
      }) satisfies DynamoDBStreamEvent,
    graphql: () =>
      ({
        arguments: {},
        identity: { sub: 's', issuer: 'i', username: 'u', claims: { 'cognito:groups': ['viewer'] }, sourceIp: ['127.0.0.1'], defaultAuthStrategy: 'ALLOW', groups: ['viewer'] },
        source: null,
        request: { headers: {}, domainName: null },
        prev: null,
        info: { fieldName: 'stats', parentTypeName: 'Query', variables: {}, selectionSetList: [], selectionSetGraphQL: '' },
        stash: {},
      }) as unknown as DirectLambdaEvent,
    // An answer to a command that does not exist is refused to the dead-letter queue, with a warning.
    deviceControl: () => ({ kind: 'response', thingName: device.id, payload: Buffer.from(JSON.stringify({ commandId: randomUUID(), status: 'SUCCEEDED' })).toString('base64'), receivedAt: Date.now() }),
    // A command past its deadline times out, which the function logs.
    commandTimeouts: async () => {
      const repository = new DynamoDbCommandRepository(fixture.doc, 'test-Commands');
      const id = randomUUID();
      await repository.create({ id, deviceId: device.id, name: 'reboot', payload: {}, timeoutSeconds: 30, expiresAt: past, status: 'CREATED', createdBy: 'test', createdAt: past, deadlineAt: past, version: 1 }, 'hash');
      await waitForOverdue(repository, id);
      return { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
    },
    // A transition whose notification targets do not answer is logged and retried.
    alarmEvents: () =>
      ({
        Records: [
          {
            eventID: 'a1',
            eventName: 'INSERT',
            eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/Alarms/stream/1',
            dynamodb: { Keys: marshall({ pk: `DEV#${device.id}`, sk: 'ALARM#rule-1' }), NewImage: marshall(instanceItem(alarm), { removeUndefinedValues: true }), SequenceNumber: '1' } as never,
          },
        ],
      }) satisfies DynamoDBStreamEvent,
    // The scheduled sweep logs its summary on every run.
    alarmSweep: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
    // The scheduled reconciler logs its summary on every run.
    presenceReconciler: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
    // The scheduled rotation sweep logs its summary on every run.
    rotationSweep: () => ({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
  };

  it.each(Object.keys(LAMBDA_FUNCTIONS) as LambdaFunctionKey[])('%s: every line of an invocation carries its request id and cold_start', async (key) => {
    // Prepare
    const { serviceName } = LAMBDA_FUNCTIONS[key];
    const cold = lambdaContext(serviceName);
    const warm = lambdaContext(serviceName);

    // Act
    const firstEvent = await invocations[key]();
    const first = await logLines(() => handlers[key]!(firstEvent as never, cold));
    const secondEvent = await invocations[key]();
    const second = await logLines(() => handlers[key]!(secondEvent as never, warm));

    // Assess
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    for (const line of first) expect(line).toMatchObject({ function_request_id: cold.awsRequestId, cold_start: true, function_name: serviceName, service: serviceName });
    for (const line of second) expect(line).toMatchObject({ function_request_id: warm.awsRequestId, cold_start: false });
  });
});

/** Waits until the deadline index lists the command (dynalite's index is immediate, DynamoDB's is eventually consistent). */
async function waitForOverdue(repository: DynamoDbCommandRepository, id: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!(await repository.overdue(new Date().toISOString(), 100)).includes(id)) {
    if (Date.now() > until) throw new Error(`command ${id} never appeared in the deadline index`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
