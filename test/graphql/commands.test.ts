import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { answerer, connect, mqtt5Properties, provisionDevice, waitFor } from '../commands/local-devices.js';

const SEND = `mutation S($input: SendCommandInput!) { sendCommand(input: $input) { id deviceId name payload status createdBy clientToken } }`;
const COMMAND = `query C($id: ID!) { command(id: $id) { id status result statusReason sentAt completedAt } }`;
const COMMANDS = `query L($deviceId: ID!, $status: CommandStatus, $limit: Int, $nextToken: String) {
  commands(deviceId: $deviceId, status: $status, limit: $limit, nextToken: $nextToken) { items { id name status } nextToken } }`;
const CANCEL = `mutation X($id: ID!) { cancelCommand(id: $id) { id status statusReason } }`;
const UPDATED = `subscription U($deviceId: ID) { commandUpdated(deviceId: $deviceId) { id deviceId status previousStatus command { name result } } }`;
const DESIRE = `mutation D($deviceId: ID!, $patch: AWSJSON!, $expectedVersion: Int) {
  updateDesiredState(deviceId: $deviceId, patch: $patch, expectedVersion: $expectedVersion) { desired delta version metadata } }`;
const DEVICE_TWIN = `query T($id: ID!) { device(id: $id) { id twinVersion twin { desired reported delta version } } }`;

type Gql = { data?: any; errors?: { errorType: string; message: string }[] };

describe('commands and the twin through GraphQL', () => {
  let dataDir: string;
  let platform: LocalPlatform;
  let admin: string;
  let viewer: string;
  let ws: Client;

  const gql = async (token: string, query: string, variables: Record<string, unknown> = {}): Promise<Gql> => {
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as Gql;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'graphql-commands-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    const issuer = await LocalTokenIssuer.fromDataDir(dataDir);
    admin = await issuer.issue({ user: 'ops', groups: ['admin'] });
    viewer = await issuer.issue({ user: 'watcher', groups: ['viewer'] });
    ws = createClient({ url: platform.endpoints.graphql!.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { Authorization: viewer }, retryAttempts: 0 });
  });

  afterAll(async () => {
    await ws?.dispose();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([4, 5] as const)('sends a command an MQTT %i device answers; the command reads SUCCEEDED and commandUpdated fires once per transition', async (protocolVersion) => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, `graphql-device-v${protocolVersion}`);
    const device = await connect(platform, bundle, protocolVersion);
    await device.client.subscribeAsync(bundle.manifest.topics.commands, { qos: 1 });
    await waitFor(async () => (await platform.registry.get(device.id)).status === 'ONLINE', 'ONLINE');
    const updates: any[] = [];
    const stop = ws.subscribe<{ commandUpdated: any }>(
      { query: UPDATED, variables: { deviceId: device.id } },
      { next: (m) => m.data && updates.push(m.data.commandUpdated), error: () => {}, complete: () => {} },
    );
    // graphql-ws does not confirm a subscription: send probes until the subscriber sees one.
    for (let n = 0; !updates.some((u) => u.command.name.startsWith('probe')); n++) {
      if (n > 100) throw new Error('subscription never became live');
      await platform.commands.send({ deviceId: device.id, name: `probe-${n}`, expiresAt: new Date(Date.now() + 60_000).toISOString() }, 'test');
      await platform.changeFeed.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    updates.length = 0;
    device.messages.length = 0;

    // Act
    const sent = await gql(admin, SEND, { input: { deviceId: device.id, name: 'set-mode', payload: JSON.stringify({ mode: 'eco' }), clientToken: 'gql-1' } });
    const id = sent.data.sendCommand.id;
    const delivered = await waitFor(() => device.messages.find((m) => m.body.id === id), 'the command');
    const envelope = delivered.body;
    // An MQTT 5 device answers where the properties say, naming the command by its correlation data alone.
    const answer = answerer(device, delivered, protocolVersion);
    await answer({ status: 'IN_PROGRESS' });
    await waitFor(() => updates.some((u) => u.id === id && u.status === 'IN_PROGRESS'), 'IN_PROGRESS');
    await answer({ status: 'SUCCEEDED', result: { mode: 'eco' } });
    const read = await waitFor(async () => {
      const result = await gql(viewer, COMMAND, { id });
      return result.data?.command.status === 'SUCCEEDED' ? result.data.command : undefined;
    }, 'SUCCEEDED');
    await waitFor(() => updates.some((u) => u.id === id && u.status === 'SUCCEEDED'), 'the SUCCEEDED update');
    // A last transition of another command proves no duplicate of this one is still in flight.
    const sentinel = await platform.commands.send({ deviceId: device.id, name: 'sentinel' }, 'test');
    await waitFor(() => updates.some((u) => u.id === sentinel.id), 'the sentinel');
    stop();

    // Assess
    expect(sent.data.sendCommand).toMatchObject({ deviceId: device.id, name: 'set-mode', payload: '{"mode":"eco"}', status: 'CREATED', createdBy: 'ops', clientToken: 'gql-1' });
    expect(envelope.payload).toEqual({ mode: 'eco' });
    expect(delivered.properties).toEqual(protocolVersion === 5 ? mqtt5Properties(envelope) : undefined);
    expect(JSON.parse(read.result)).toEqual({ mode: 'eco' });
    expect(updates.filter((u) => u.id === id).map((u) => [u.previousStatus, u.status])).toEqual([
      [null, 'CREATED'],
      ['CREATED', 'IN_PROGRESS'],
      ['IN_PROGRESS', 'SUCCEEDED'],
    ]);
    await device.end();
  });

  it('lists newest first with a status filter and pages, repeats a clientToken, refuses a conflicting one, and cancels while CREATED', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'graphql-offline');
    const deviceId = bundle.manifest.thingName;
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await gql(admin, SEND, { input: { deviceId, name: `job-${n}` } })).data.sendCommand.id);

    // Act
    const repeat = await gql(admin, SEND, { input: { deviceId, name: 'tokened', clientToken: 'same' } });
    const again = await gql(admin, SEND, { input: { deviceId, name: 'tokened', clientToken: 'same' } });
    const conflict = await gql(admin, SEND, { input: { deviceId, name: 'other', clientToken: 'same' } });
    const canceled = await gql(admin, CANCEL, { id: ids[0] });
    const cancelAgain = await gql(admin, CANCEL, { id: ids[0] });
    const page1 = await gql(viewer, COMMANDS, { deviceId, limit: 2 });
    const page2 = await gql(viewer, COMMANDS, { deviceId, limit: 2, nextToken: page1.data.commands.nextToken });
    const canceledOnly = await gql(viewer, COMMANDS, { deviceId, status: 'CANCELED' });
    const foreignToken = await gql(viewer, COMMANDS, { deviceId, status: 'CREATED', nextToken: page1.data.commands.nextToken });

    // Assess
    expect(again.data.sendCommand.id).toBe(repeat.data.sendCommand.id);
    expect(conflict.errors?.[0]).toMatchObject({ errorType: 'Conflict' });
    expect(canceled.data.cancelCommand).toMatchObject({ status: 'CANCELED', statusReason: 'canceled by ops' });
    expect(cancelAgain.errors?.[0]).toMatchObject({ errorType: 'Conflict' });
    expect([...page1.data.commands.items, ...page2.data.commands.items].map((c: any) => c.id)).toEqual([repeat.data.sendCommand.id, ids[2], ids[1], ids[0]]);
    expect(canceledOnly.data.commands.items.map((c: any) => c.id)).toEqual([ids[0]]);
    expect(foreignToken.errors?.[0]).toMatchObject({ errorType: 'ValidationError' });
  });

  it('refuses a signed-in user in no group the command list and the telemetry feed, as every other read', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'graphql-groupless');
    const deviceId = bundle.manifest.thingName;
    const groupless = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'stranger', groups: [] });
    const strangerWs = createClient({ url: platform.endpoints.graphql!.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { Authorization: groupless }, retryAttempts: 0 });

    // Act
    const listed = await gql(groupless, COMMANDS, { deviceId });
    const device = await gql(groupless, 'query D($id: ID!) { device(id: $id) { id } }', { id: deviceId });
    const subscribed = await new Promise<unknown>((resolve) => {
      strangerWs.subscribe({ query: 'subscription { telemetryUpdated { items { id } } }' }, { next: resolve, error: resolve, complete: () => resolve('complete') });
    });
    await strangerWs.dispose();

    // Assess
    expect(listed.errors?.[0]?.errorType).toBe('Unauthorized');
    expect(listed.data?.commands ?? null).toBeNull();
    expect(device.errors?.[0]?.errorType).toBe('Unauthorized');
    expect(JSON.stringify(subscribed)).toMatch(/Unauthorized|Not Authorized/);
    expect((await gql(viewer, COMMANDS, { deviceId })).errors).toBeUndefined();
  });

  it('refuses viewers and bad input with typed errors', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'graphql-refusals');
    const deviceId = bundle.manifest.thingName;

    // Act
    const results = await Promise.all([
      gql(viewer, SEND, { input: { deviceId, name: 'x' } }),
      gql(viewer, DESIRE, { deviceId, patch: '{}' }),
      gql(admin, SEND, { input: { deviceId, name: 'Bad Name' } }),
      gql(admin, SEND, { input: { deviceId, name: 'x', payload: JSON.stringify({ big: 'x'.repeat(33 * 1024) }) } }),
      gql(admin, SEND, { input: { deviceId, name: 'x', expiresAt: new Date(Date.now() + 8 * 86_400_000).toISOString() } }),
      gql(admin, SEND, { input: { deviceId: '00000000-0000-4000-8000-000000000000', name: 'x' } }),
      gql(admin, DESIRE, { deviceId, patch: '[1,2]' }),
      gql(admin, COMMAND, { id: 'not-a-uuid' }),
    ]);

    // Assess
    expect(results.map((r) => r.errors?.[0]?.errorType)).toEqual([
      'Unauthorized',
      'Unauthorized',
      'ValidationError',
      'ValidationError',
      'ValidationError',
      'NotFound',
      'ValidationError',
      'ValidationError',
    ]);
    expect(results[3]!.errors![0]!.message).toMatch(/payload must be at most 32768 bytes/);
  });

  it('patches desired state with optimistic concurrency and shows the twin on the device', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'graphql-twin');
    const deviceId = bundle.manifest.thingName;

    // Act
    const first = await gql(admin, DESIRE, { deviceId, patch: JSON.stringify({ fan: { speed: 2 } }) });
    const second = await gql(admin, DESIRE, { deviceId, patch: JSON.stringify({ fan: { speed: 3 }, light: true }), expectedVersion: 1 });
    const stale = await gql(admin, DESIRE, { deviceId, patch: JSON.stringify({ fan: null }), expectedVersion: 1 });
    const tooBig = await gql(admin, DESIRE, { deviceId, patch: JSON.stringify({ blob: 'x'.repeat(64 * 1024) }) });
    const device = await waitFor(async () => {
      const result = await gql(viewer, DEVICE_TWIN, { id: deviceId });
      return result.data?.device.twinVersion === 2 ? result.data.device : undefined;
    }, 'twinVersion 2');

    // Assess
    expect(first.data.updateDesiredState.version).toBe(1);
    expect(JSON.parse(second.data.updateDesiredState.desired)).toEqual({ fan: { speed: 3 }, light: true });
    expect(JSON.parse(second.data.updateDesiredState.metadata).desired.fan.speed).toMatchObject({ version: 2 });
    expect(stale.errors?.[0]).toMatchObject({ errorType: 'Conflict' });
    expect(tooBig.errors?.[0]).toMatchObject({ errorType: 'ValidationError', message: expect.stringMatching(/at most 65536 bytes/) });
    expect(device.twin.version).toBe(2);
    expect(JSON.parse(device.twin.delta)).toEqual({ fan: { speed: 3 }, light: true });
    expect(JSON.parse(device.twin.reported)).toEqual({});
  });
});
