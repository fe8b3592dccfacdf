import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCommandRepository } from '../../src/adapters/dynamodb/command-repository.js';
import type { CommandChange } from '../../src/commands/command-change.js';
import { commandResponseTopic } from '../../src/contracts/topics.js';
import { deadLetterFile } from '../../src/local/iot-core/local-iot-core.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import type { DeviceBundle } from '../../src/provisioning/device-bundle.js';
import { answerer, connect as connectDevice, mqtt5Properties, provisionDevice, waitFor, type TestDevice } from './local-devices.js';

// Each case runs with MQTT 3.1.1 devices and with MQTT 5 devices, which answer through the
// response topic and correlation data they were given as properties.
describe.each([4, 5] as const)('commands on the local platform, with MQTT.js %i devices', (protocolVersion) => {
  const v5 = protocolVersion === 5;
  const connect = (platform: LocalPlatform, bundle: DeviceBundle) => connectDevice(platform, bundle, protocolVersion);
  let dataDir: string;
  let platform: LocalPlatform;
  const transitions: CommandChange[] = [];
  const admin = 'ops@example.com';

  const online = (id: string) => waitFor(async () => (await platform.registry.get(id)).status === 'ONLINE', `${id} ONLINE`);
  const transitionsOf = (id: string) => transitions.filter((t) => t.command.id === id).map((t) => t.command.status);
  const subscribeCommands = async (device: TestDevice, bundle: DeviceBundle) => {
    await device.client.subscribeAsync(bundle.manifest.topics.commands, { qos: 1 });
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'commands-local-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    platform.changeFeed.subscribeCommands((change) => transitions.push(change));
  });

  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers a command to an online device, records its answers once each and reports each transition once', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'online');
    const device = await connect(platform, bundle);
    await subscribeCommands(device, bundle);
    await online(device.id);

    // Act
    const sent = await platform.commands.send({ deviceId: device.id, name: 'reboot', payload: { delay: 5 } }, admin);
    const delivered = await waitFor(() => device.messages.find((m) => m.topic === bundle.manifest.topics.commands), 'the command');
    const envelope = delivered.body;
    const answer = answerer(device, delivered, protocolVersion);
    await answer({ status: 'IN_PROGRESS' });
    await answer({ status: 'IN_PROGRESS' });
    // Answers are handled concurrently, as asynchronous Lambda invocations are: a final answer may overtake IN_PROGRESS.
    await waitFor(async () => (await platform.commands.get(sent.id)).status === 'IN_PROGRESS', 'IN_PROGRESS');
    await answer({ status: 'SUCCEEDED', result: { uptime: 0 } });
    await answer({ status: 'SUCCEEDED', result: { uptime: 0 } });
    const done = await waitFor(async () => {
      const command = await platform.commands.get(sent.id);
      return command.status === 'SUCCEEDED' ? command : undefined;
    }, 'SUCCEEDED');
    // The change feed reaches watchers after the write: wait for the final transition to arrive,
    // then drain the feed, so a duplicate would show while a slow delivery is not mistaken for a loss.
    await waitFor(() => transitionsOf(sent.id).includes('SUCCEEDED'), 'the SUCCEEDED change');
    await platform.changeFeed.flush();

    // Assess
    expect(envelope).toMatchObject({ v: 1, id: sent.id, name: 'reboot', payload: { delay: 5 }, timeoutSeconds: 60, responseTopic: commandResponseTopic(device.id), correlationData: sent.id });
    expect(delivered.properties).toEqual(v5 ? mqtt5Properties(envelope) : undefined);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { uptime: 0 }, createdBy: admin });
    expect(done.sentAt).toBeDefined();
    expect(done.completedAt).toBeDefined();
    expect(transitionsOf(sent.id)).toEqual(['CREATED', 'IN_PROGRESS', 'SUCCEEDED']);
    await device.end();
  });

  it('queues commands for an offline device and delivers them in creation order when it subscribes', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'offline');
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push((await platform.commands.send({ deviceId: bundle.manifest.thingName, name: `step-${n}` }, admin)).id);
    const queued = await platform.commands.get(ids[0]);

    // Act
    const device = await connect(platform, bundle);
    await subscribeCommands(device, bundle);
    const received = await waitFor(() => (device.messages.length >= 5 ? device.messages : undefined), 'five commands');

    // Assess
    expect(queued.status).toBe('CREATED');
    expect(queued.sentAt).toBeUndefined();
    expect(received.map((m) => m.body.id)).toEqual(ids);
    expect((await platform.commands.get(ids[4])).sentAt).toBeDefined();
    await device.end();
  });

  it('delivers a command stored while its device connects, whichever comes first, and records each transition once', async () => {
    // Prepare: the worst order is first (ONLINE, the command published, then the SUBSCRIBE), then
    // sends racing fresh connections, a new device each, answered as soon as it arrives.
    const orders = ['online-before-subscribe', 'race', 'race', 'race', 'race'] as const;
    const results: Array<{ received: string[]; sent: string; final: string; changes: string[] }> = [];

    // Act
    for (const [n, order] of orders.entries()) {
      const bundle = await provisionDevice(platform, dataDir, `connecting-${n}`);
      const device = await connect(platform, bundle);
      let sent: { id: string };
      if (order === 'online-before-subscribe') {
        await online(device.id);
        sent = await platform.commands.send({ deviceId: device.id, name: 'reboot' }, admin);
        await subscribeCommands(device, bundle);
      } else {
        [sent] = await Promise.all([platform.commands.send({ deviceId: device.id, name: 'reboot' }, admin), subscribeCommands(device, bundle)]);
      }
      const delivered = await waitFor(() => device.messages.find((m) => m.body.id === sent.id), `command ${n}`);
      await answerer(device, delivered, protocolVersion)({ status: 'SUCCEEDED' });
      const final = await waitFor(async () => {
        const command = await platform.commands.get(sent.id);
        return command.status === 'SUCCEEDED' ? command : undefined;
      }, `command ${n} SUCCEEDED`);
      await waitFor(() => transitionsOf(sent.id).includes('SUCCEEDED'), `command ${n}'s SUCCEEDED change`);
      await platform.changeFeed.flush();
      results.push({ received: device.messages.map((m) => m.body.id), sent: sent.id, final: final.status, changes: transitionsOf(sent.id) });
      await device.end();
    }

    // Assess: received at least once (a device takes the same id twice as one command), recorded once.
    for (const result of results) {
      expect(new Set(result.received)).toEqual(new Set([result.sent]));
      expect(result.final).toBe('SUCCEEDED');
      expect(result.changes).toEqual(['CREATED', 'SUCCEEDED']);
    }
  });

  it('re-drives a command its ONLINE device missed to it, before older ones are overtaken, without waiting for a reconnection', async () => {
    // Prepare: what a crash between the write and the publish leaves (the door stored the
    // commands, nothing published them), for a device that stays connected and subscribed.
    const bundle = await provisionDevice(platform, dataDir, 'missed');
    const device = await connect(platform, bundle);
    await subscribeCommands(device, bundle);
    await online(device.id);
    const repository = new DynamoDbCommandRepository(platform.doc, platform.tables.commands);
    const at = Date.now();
    const stored = [0, 1, 2].map((n) => ({
      id: randomUUID(),
      deviceId: device.id,
      name: `missed-${n}`,
      payload: { n },
      timeoutSeconds: 60,
      expiresAt: new Date(at + 86_400_000).toISOString(),
      status: 'CREATED' as const,
      createdBy: admin,
      createdAt: new Date(at + n).toISOString(),
      deadlineAt: new Date(at + 86_400_000).toISOString(),
      redriveAt: new Date(at + 500).toISOString(),
      version: 1,
    }));
    for (const command of stored) await repository.create(command, 'hash');

    // Act: the one-second sweep finds them due at their re-drive check.
    const received = await waitFor(() => {
      const ids = device.messages.map((m) => m.body.id as string);
      return stored.every((c) => ids.includes(c.id)) ? ids : undefined;
    }, 'the re-driven commands');

    // Assess: each once, in creation order, even when successive sweeps find them due.
    expect(received).toEqual(stored.map((c) => c.id));
    for (const command of stored) expect((await platform.commands.get(command.id)).sentAt).toBeDefined();
    await device.end();
  });

  it('times a silent device out exactly once and keeps a late answer without changing the status', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'silent');
    const device = await connect(platform, bundle);
    await subscribeCommands(device, bundle);
    await online(device.id);

    // Act
    const sent = await platform.commands.send({ deviceId: device.id, name: 'calibrate', timeoutSeconds: 1 }, admin);
    await waitFor(async () => (await platform.commands.get(sent.id)).status === 'TIMED_OUT', 'TIMED_OUT');
    await device.client.publishAsync(bundle.manifest.topics.commandResponses, JSON.stringify({ v: 1, id: sent.id, status: 'SUCCEEDED' }), { qos: 1 });
    const late = await waitFor(async () => (await platform.commands.get(sent.id)).lateAnswer, 'the late answer');
    await waitFor(() => transitionsOf(sent.id).includes('TIMED_OUT'), 'the TIMED_OUT change');
    await platform.changeFeed.flush();

    // Assess
    const final = await platform.commands.get(sent.id);
    expect(final.status).toBe('TIMED_OUT');
    expect(final.statusReason).toMatch(/no final answer within 1 s/);
    expect(late.status).toBe('SUCCEEDED');
    expect(transitionsOf(sent.id)).toEqual(['CREATED', 'TIMED_OUT']);
    await device.end();
  });

  it('returns the same command for a repeated clientToken and refuses the token with other parameters', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'idempotent');
    const input = { deviceId: bundle.manifest.thingName, name: 'open', payload: { valve: 2 }, clientToken: 'open-valve-2' };

    // Act
    const first = await platform.commands.send(input, admin);
    const again = await platform.commands.send({ ...input, payload: { valve: 2 } }, admin);
    const conflict = await platform.commands.send({ ...input, payload: { valve: 3 } }, admin).catch((error: unknown) => error);

    // Assess
    expect(again.id).toBe(first.id);
    expect(conflict).toMatchObject({ code: 'CONFLICT' });
    const page = await platform.commands.list({ deviceId: input.deviceId });
    expect(page.items.map((c) => c.id)).toEqual([first.id]);
  });

  it("refuses a device that answers another device's command: the policy on another response topic, the handler on its own", async () => {
    // Prepare
    const victimBundle = await provisionDevice(platform, dataDir, 'victim');
    const attackerBundle = await provisionDevice(platform, dataDir, 'attacker');
    const victim = await connect(platform, victimBundle);
    await subscribeCommands(victim, victimBundle);
    await online(victim.id);
    const sent = await platform.commands.send({ deviceId: victim.id, name: 'unlock' }, admin);
    await waitFor(() => victim.messages.length > 0, 'the command');

    // Act
    const attacker = await connect(platform, attackerBundle);
    const forged = JSON.stringify({ v: 1, id: sent.id, status: 'SUCCEEDED' });
    await attacker.client.publishAsync(attackerBundle.manifest.topics.commandResponses, forged, { qos: 1 });
    await waitFor(() => readDeadLetters().some((l) => l.reason === 'NOT_OWN_COMMAND'), 'the NOT_OWN_COMMAND dead letter');
    // MQTT 3.1.1: the denial disconnects; MQTT 5: the PUBACK carries 0x87 and the connection stays.
    const closed = new Promise<void>((resolve) => attacker.client.once('close', () => resolve()));
    const refusal = attacker.client.publishAsync(commandResponseTopic(victim.id), forged, { qos: 1 }).then(
      () => undefined,
      (error: { code?: number }) => error.code,
    );
    if (v5) {
      expect(await refusal).toBe(0x87);
      expect(attacker.client.connected).toBe(true);
      await attacker.end();
    } else {
      await closed;
    }

    // Assess
    expect((await platform.commands.get(sent.id)).status).toBe('CREATED');
    expect(readDeadLetters().find((l) => l.reason === 'NOT_OWN_COMMAND')).toMatchObject({ source: 'commands', thingName: attacker.id });
    await waitFor(async () => (await platform.registry.get(attacker.id)).status === 'OFFLINE', 'the attacker OFFLINE');
    await victim.end();
  });

  it('cancels a queued command and refuses to cancel a finished one', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'cancel');
    const queued = await platform.commands.send({ deviceId: bundle.manifest.thingName, name: 'wipe' }, admin);

    // Act
    const canceled = await platform.commands.cancel(queued.id, admin);
    const again = await platform.commands.cancel(queued.id, admin).catch((error: unknown) => error);
    const device = await connect(platform, bundle);
    await subscribeCommands(device, bundle);
    const probe = await platform.commands.send({ deviceId: device.id, name: 'probe' }, admin);
    await waitFor(() => device.messages.some((m) => m.body.id === probe.id), 'the probe command');

    // Assess
    expect(canceled).toMatchObject({ status: 'CANCELED', statusReason: `canceled by ${admin}` });
    expect(again).toMatchObject({ code: 'CONFLICT' });
    // The probe may arrive twice (sent while the subscription's drain ran: at least once); the canceled command never.
    expect(new Set(device.messages.map((m) => m.body.id))).toEqual(new Set([probe.id]));
    await device.end();
  });

  function readDeadLetters(): { reason: string; source: string; thingName?: string }[] {
    try {
      return readFileSync(deadLetterFile(dataDir), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
    } catch {
      return [];
    }
  }
});
