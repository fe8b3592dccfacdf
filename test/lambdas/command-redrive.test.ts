/**
 * The cloud composition of command delivery, against dynalite and the exact IoT data plane
 * requests (IoT Core has no local stand-in for the Lambdas' Publish): the real command sweep and
 * device control Lambda modules, invoked as the schedule and the subscription rule invoke them,
 * and the commands use cases composed as the resolver composes them. A fake data plane records
 * every Publish and can refuse them.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { createDeviceControlServices } from '../../src/adapters/device-control-services.js';
import { DynamoDbCommandRepository } from '../../src/adapters/dynamodb/command-repository.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { IotDataDeviceMessenger } from '../../src/adapters/iot/iot-data-device-messenger.js';
import type { Command } from '../../src/commands/command.js';
import { commandEnvelope } from '../../src/commands/command-messages.js';
import type { CommandSweepSummary } from '../../src/commands/command-service.js';
import { LAMBDA_FUNCTIONS } from '../../src/contracts/lambda-functions.js';
import { commandResponseTopic, commandTopic } from '../../src/contracts/topics.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/local/dynamodb/dynalite.js';
import { startDynamoFixture, type DynamoFixture } from '../adapters/dynamodb/dynamo-fixture.js';
import { lambdaContext } from './lambda-context.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** One Publish as the data plane received it. */
interface Publish {
  readonly topic: string;
  readonly query: Record<string, string>;
  readonly correlationData: string | undefined;
  readonly body: unknown;
}

/** The IoT data plane's Publish (REST: POST /topics/{topic}); topics in `refuse` get a 503, counted in `refused`. */
async function fakeDataPlane(published: Publish[], refuse: Set<string>, refused: string[]): Promise<Server> {
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const topic = decodeURIComponent(url.pathname.replace(/^\/topics\//, ''));
      if (refuse.has(topic)) {
        refused.push(topic);
        response.writeHead(503, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceUnavailableException' });
        response.end(JSON.stringify({ message: 'unavailable' }));
        return;
      }
      const correlation = request.headers['x-amz-mqtt5-correlation-data'];
      published.push({ topic, query: Object.fromEntries(url.searchParams), correlationData: typeof correlation === 'string' ? correlation : undefined, body: JSON.parse(body) });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('command delivery in the cloud composition (sweep and device control Lambdas, dynalite, exact Publish requests)', () => {
  let fixture: DynamoFixture;
  let dataPlane: Server;
  const published: Publish[] = [];
  const refuse = new Set<string>();
  const refused: string[] = [];
  const savedEnv = { ...process.env };
  let sweep: Handler;
  let deviceControl: Handler;
  let repository: DynamoDbCommandRepository;
  let devices: DynamoDbDeviceRepository;

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    dataPlane = await fakeDataPlane(published, refuse, refused);
    Object.assign(process.env, {
      DEVICES_TABLE_NAME: fixture.devicesTable,
      COMMANDS_TABLE_NAME: 'test-Commands',
      TWINS_TABLE_NAME: 'test-Twins',
      DEAD_LETTER_QUEUE_URL: 'http://127.0.0.1:9/000000000000/unused',
      AWS_ENDPOINT_URL: fixture.endpoint,
      AWS_ENDPOINT_URL_IOT_DATA_PLANE: `http://127.0.0.1:${(dataPlane.address() as AddressInfo).port}`,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_MAX_ATTEMPTS: '1',
      POWERTOOLS_METRICS_NAMESPACE: 'IotPlatformTest',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    process.env.POWERTOOLS_SERVICE_NAME = LAMBDA_FUNCTIONS.commandTimeouts.serviceName;
    sweep = ((await import(`../../${LAMBDA_FUNCTIONS.commandTimeouts.entry}`)) as { handler: Handler }).handler;
    process.env.POWERTOOLS_SERVICE_NAME = LAMBDA_FUNCTIONS.deviceControl.serviceName;
    deviceControl = ((await import(`../../${LAMBDA_FUNCTIONS.deviceControl.entry}`)) as { handler: Handler }).handler;
    repository = new DynamoDbCommandRepository(fixture.doc, 'test-Commands');
    devices = new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable);
  });
  afterAll(async () => {
    process.env = savedEnv;
    dataPlane?.close();
    await fixture?.stop();
  });
  beforeEach(() => {
    published.length = 0;
    refused.length = 0;
    refuse.clear();
  });

  const runSweep = async () => (await sweep({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }, lambdaContext(LAMBDA_FUNCTIONS.commandTimeouts.serviceName))) as CommandSweepSummary;
  const device = async (status: 'ONLINE' | 'OFFLINE') => {
    const at = new Date().toISOString();
    const id = randomUUID();
    await devices.create({ id, name: `device ${status}`, type: 'valve', status, createdAt: at, updatedAt: at, metadata: {}, readings: {}, version: 1 });
    return id;
  };
  /** What a door stored whose publish never happened (a crash, or a subscription that drained the queue just before): its re-drive check is due. */
  const stranded = async (deviceId: string, n = 0): Promise<Command> => {
    const at = Date.now() - 60_000;
    const command: Command = {
      id: randomUUID(),
      deviceId,
      name: `stranded-${n}`,
      payload: { n },
      timeoutSeconds: 60,
      expiresAt: new Date(at + 86_400_000).toISOString(),
      status: 'CREATED',
      createdBy: 'ops@example.com',
      createdAt: new Date(at + n).toISOString(),
      deadlineAt: new Date(at + 86_400_000).toISOString(),
      redriveAt: new Date(at + 30_000).toISOString(),
      version: 1,
    };
    await repository.create(command, 'hash');
    return command;
  };
  const request = (command: Command): Publish => ({
    topic: commandTopic(command.deviceId),
    query: { qos: '1', contentType: 'application/json', responseTopic: commandResponseTopic(command.deviceId) },
    correlationData: Buffer.from(command.id, 'utf8').toString('base64'),
    body: commandEnvelope(command),
  });

  it("publishes the waiting commands of an ONLINE device in creation order, once, at their re-drive check", async () => {
    // Prepare
    const id = await device('ONLINE');
    const commands = [await stranded(id, 0), await stranded(id, 1)];

    // Act
    const first = await runSweep();
    const second = await runSweep();

    // Assess
    const sent = await Promise.all(commands.map(async (c) => (await repository.get(c.id))!));
    expect(published).toEqual(sent.map(request));
    expect(sent.map((c) => c.status)).toEqual(['CREATED', 'CREATED']);
    expect(sent.every((c) => c.sentAt !== undefined && c.redriveAt === undefined)).toBe(true);
    expect(first).toMatchObject({ redelivered: 2, parked: 0, gaveUp: 0 });
    expect(second).toMatchObject({ redelivered: 0 });
  });

  it('publishes nothing to an OFFLINE device: its command waits for the next subscription, out of the due range', async () => {
    // Prepare
    const id = await device('OFFLINE');
    const command = await stranded(id);

    // Act
    const summary = await runSweep();

    // Assess
    expect(published).toEqual([]);
    expect(summary).toMatchObject({ redelivered: 0, parked: 1 });
    const after = (await repository.get(command.id))!;
    expect(after).toMatchObject({ status: 'CREATED' });
    expect(after.sentAt).toBeUndefined();
    expect(after.redriveAt).toBeUndefined();
    expect(await repository.overdue(new Date().toISOString(), 100)).not.toContain(command.id);
  });

  it('gives a command up as FAILED, with its reason, after 5 refused publishes, and publishes nothing more', async () => {
    // Prepare
    const id = await device('ONLINE');
    const command = await stranded(id);
    refuse.add(commandTopic(id));
    const summaries: CommandSweepSummary[] = [];

    // Act: between runs, the minute a failed publish waits for its next check goes by.
    for (let run = 0; run < 6; run++) {
      summaries.push(await runSweep());
      const current = (await repository.get(command.id))!;
      if (current.status === 'CREATED') await repository.reschedule(current, new Date(Date.now() - 1000).toISOString());
    }
    refuse.clear();
    const afterwards = await runSweep();

    // Assess
    const final = (await repository.get(command.id))!;
    expect(final).toMatchObject({ status: 'FAILED', statusReason: `not delivered: 5 publishes to ${id} failed`, failedDeliveries: 5 });
    expect(summaries.map((s) => s.gaveUp)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(refused).toEqual(Array(5).fill(commandTopic(id)));
    expect(published).toEqual([]);
    expect(afterwards).toMatchObject({ redelivered: 0, gaveUp: 0 });
  });

  it('publishes a command sent while its device connects again when the device subscribes, until the device answers', async () => {
    // Prepare: the resolver's composition; the device is ONLINE but has not subscribed yet, so
    // the first publish reaches no session (a clean session drops it).
    const id = await device('ONLINE');
    const { commands } = createDeviceControlServices({
      doc: fixture.doc,
      tables: { devices: fixture.devicesTable, commands: 'test-Commands', twins: 'test-Twins' },
      messenger: new IotDataDeviceMessenger(new IoTDataPlaneClient({})),
      pageTokens: createPageTokenCodec(randomUUID()),
    });
    const subscribed = { kind: 'subscribed', clientId: id, topics: [commandTopic(id)] };
    const context = () => lambdaContext(LAMBDA_FUNCTIONS.deviceControl.serviceName);

    // Act
    const sent = await commands.send({ deviceId: id, name: 'reboot' }, 'ops@example.com');
    await deviceControl(subscribed, context());
    const answer = { kind: 'response', thingName: id, clientId: id, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ v: 1, id: sent.id, status: 'SUCCEEDED' })).toString('base64') };
    const answered = await deviceControl(answer, context());
    await deviceControl(subscribed, context());

    // Assess
    const stored = (await repository.get(sent.id))!;
    expect(published).toEqual([request(sent), request(sent)]);
    expect(answered).toBe('answer-applied');
    expect(stored).toMatchObject({ status: 'SUCCEEDED', version: sent.version + 1 });
    expect(await repository.queued(id, 10)).toEqual([]);
  });
});
