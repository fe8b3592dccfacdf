import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceServiceClient } from '../../src/generated/proto/iot/device/v1/DeviceService.js';
import type { WatchCommandsResponse__Output } from '../../src/generated/proto/iot/device/v1/WatchCommandsResponse.js';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { answerer, connect, mqtt5Properties, provisionDevice, waitFor } from '../commands/local-devices.js';
import { newClient } from './helpers.js';

type Unary<Req, Res> = (request: Req, callback: (error: ServiceError | null, response?: Res) => void) => unknown;
const call = <Req, Res>(method: Unary<Req, Res>, client: DeviceServiceClient, request: Req): Promise<Res> =>
  new Promise((resolve, reject) => method.call(client, request, (error, response) => (error ? reject(error) : resolve(response!))));

describe('commands and the twin through gRPC', () => {
  let dataDir: string;
  let platform: LocalPlatform;
  let client: DeviceServiceClient;
  let callerSub: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'grpc-commands-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    const token = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'grpc-ops', groups: ['admin'], tokenUse: 'access' });
    client = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token } });
    callerSub = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string }).sub;
  });

  afterAll(async () => {
    client?.close();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // The 3.1.1 device fails the command and the MQTT 5 one succeeds, so both final paths are seen.
  it.each([
    { protocolVersion: 4 as const, final: { status: 'FAILED', reason: 'LED broken' }, expected: { status: 'COMMAND_STATUS_FAILED', statusReason: 'LED broken' } },
    { protocolVersion: 5 as const, final: { status: 'SUCCEEDED', result: { blinked: 3 } }, expected: { status: 'COMMAND_STATUS_SUCCEEDED', resultJson: '{"blinked":3}' } },
  ])('sends a command an MQTT $protocolVersion device answers; GetCommand reads its final status and WatchCommands shows each transition once', async ({ protocolVersion, final, expected }) => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, `grpc-device-v${protocolVersion}`);
    const device = await connect(platform, bundle, protocolVersion);
    await device.client.subscribeAsync(bundle.manifest.topics.commands, { qos: 1 });
    await waitFor(async () => (await platform.registry.get(device.id)).status === 'ONLINE', 'ONLINE');
    const seen: WatchCommandsResponse__Output[] = [];
    const stream: ClientReadableStream<WatchCommandsResponse__Output> = client.WatchCommands({ deviceIds: [device.id] });
    stream.on('data', (message: WatchCommandsResponse__Output) => seen.push(message));
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('metadata', resolve));

    // Act
    const token = `grpc-${protocolVersion}`;
    const sent = await call(client.SendCommand, client, { deviceId: device.id, name: 'blink', payloadJson: '{"times":3}', clientToken: token });
    const delivered = await waitFor(() => device.messages.find((m) => m.body.id === sent.id), 'the command');
    const envelope = delivered.body;
    const answer = answerer(device, delivered, protocolVersion);
    await answer({ status: 'IN_PROGRESS' });
    await waitFor(() => seen.some((m) => m.command?.status === 'COMMAND_STATUS_IN_PROGRESS'), 'IN_PROGRESS');
    await answer(final);
    const read = await waitFor(async () => {
      const command = await call(client.GetCommand, client, { id: sent.id });
      return command.status === expected.status ? command : undefined;
    }, expected.status);
    const again = await call(client.SendCommand, client, { deviceId: device.id, name: 'blink', payloadJson: '{"times":3}', clientToken: token });
    const conflict = await call(client.SendCommand, client, { deviceId: device.id, name: 'blink', payloadJson: '{"times":4}', clientToken: token }).catch((e: ServiceError) => e);
    const sentinel = await call(client.SendCommand, client, { deviceId: device.id, name: 'sentinel' });
    await waitFor(() => seen.some((m) => m.command?.id === sentinel.id), 'the sentinel');
    stream.cancel();

    // Assess
    expect(sent).toMatchObject({ deviceId: device.id, name: 'blink', payloadJson: '{"times":3}', createdBy: callerSub, clientToken: token });
    expect(envelope.payload).toEqual({ times: 3 });
    expect(delivered.properties).toEqual(protocolVersion === 5 ? mqtt5Properties(envelope) : undefined);
    expect(read).toMatchObject(expected);
    expect(again.id).toBe(sent.id);
    expect((conflict as ServiceError).code).toBe(Status.ABORTED);
    expect(seen.filter((m) => m.command?.id === sent.id).map((m) => [m.previousStatus, m.command?.status])).toEqual([
      ['COMMAND_STATUS_UNSPECIFIED', 'COMMAND_STATUS_CREATED'],
      ['COMMAND_STATUS_CREATED', 'COMMAND_STATUS_IN_PROGRESS'],
      ['COMMAND_STATUS_IN_PROGRESS', expected.status],
    ]);
    await device.end();
  });

  it('lists, cancels and reads the twin with the same semantics and status codes as GraphQL', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'grpc-offline');
    const deviceId = bundle.manifest.thingName;
    const first = await call(client.SendCommand, client, { deviceId, name: 'one' });
    const second = await call(client.SendCommand, client, { deviceId, name: 'two' });

    // Act
    const canceled = await call(client.CancelCommand, client, { id: first.id });
    const cancelAgain = await call(client.CancelCommand, client, { id: first.id }).catch((e: ServiceError) => e);
    const page = await call(client.ListCommands, client, { deviceId, pageSize: 1 });
    const rest = await call(client.ListCommands, client, { deviceId, pageSize: 1, pageToken: page.nextPageToken });
    const onlyCanceled = await call(client.ListCommands, client, { deviceId, status: 'COMMAND_STATUS_CANCELED' });
    const desired = await call(client.UpdateDesiredState, client, { deviceId, patchJson: '{"mode":"eco"}' });
    const stale = await call(client.UpdateDesiredState, client, { deviceId, patchJson: '{"mode":"off"}', expectedVersion: '7' }).catch((e: ServiceError) => e);
    const twin = await call(client.GetTwin, client, { deviceId });
    const bad = await Promise.all([
      call(client.SendCommand, client, { deviceId, name: 'NO SPACES' }).catch((e: ServiceError) => e.code),
      call(client.SendCommand, client, { deviceId, name: 'x', payloadJson: '{oops' }).catch((e: ServiceError) => e.code),
      call(client.GetCommand, client, { id: '00000000-0000-4000-8000-000000000000' }).catch((e: ServiceError) => e.code),
      call(client.UpdateDesiredState, client, { deviceId, patchJson: '"text"' }).catch((e: ServiceError) => e.code),
      call(client.GetTwin, client, { deviceId: 'nope' }).catch((e: ServiceError) => e.code),
    ]);

    // Assess
    expect(canceled.status).toBe('COMMAND_STATUS_CANCELED');
    expect((cancelAgain as ServiceError).code).toBe(Status.ABORTED);
    expect([...page.commands, ...rest.commands].map((c) => c.id)).toEqual([second.id, first.id]);
    expect(onlyCanceled.commands.map((c) => c.id)).toEqual([first.id]);
    expect(desired.version).toBe('1');
    expect((stale as ServiceError).code).toBe(Status.ABORTED);
    expect(JSON.parse(twin.deltaJson)).toEqual({ mode: 'eco' });
    expect(bad).toEqual([Status.INVALID_ARGUMENT, Status.INVALID_ARGUMENT, Status.NOT_FOUND, Status.INVALID_ARGUMENT, Status.INVALID_ARGUMENT]);
    await waitFor(async () => (await call(client.GetDevice, client, { id: deviceId })).twinVersion === '1', 'twin_version 1 on the device');
  });
});
