import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandTopic, presenceTopic, stateTopic, telemetryTopic } from '../../../src/contracts/topics.js';
import type { PresenceEvent } from '../../../src/contracts/rules.js';
import { encodeDeviceChange } from '../../../src/contracts/device-change-codec.js';
import { openLocalCa, type IssuedCertificate, type LocalCa } from '../../../src/local/iot-core/ca.js';
import { startBroker, type LocalBroker } from '../../../src/local/iot-core/broker.js';
import type { CertificateBinding, CertificateBindingReader } from '../../../src/ports/device-credentials.js';
import { POLICY_CASES, THING, OTHER, TEST_RULE_NAME } from '../../devices/policy-cases.js';
import { devicePolicyDocument, LOCAL_POLICY_PARAMS } from '../../../src/contracts/iot-policy.js';
import { closed, connectDevice, type DeviceCredentials, type MqttVersion } from './mqtt-device.js';

/** In-memory certificate bindings; each write increments the device version, as the DynamoDB store does. */
class Registry implements CertificateBindingReader {
  readonly bindings = new Map<string, CertificateBinding>();
  async get(id: string) {
    return this.bindings.get(id);
  }
  register(id: string, certificateId?: string) {
    const version = (this.bindings.get(id)?.version ?? 0) + 1;
    this.bindings.set(id, { deviceId: id, version, ...(certificateId && { certificateId, status: 'ACTIVE' as const }) });
  }
  revoke(id: string): CertificateBinding {
    const current = this.bindings.get(id)!;
    const revoked: CertificateBinding = { ...current, status: 'REVOKED', revokedAt: new Date().toISOString(), version: current.version + 1 };
    this.bindings.set(id, revoked);
    return revoked;
  }
}

/** The change the feed relays for a device at `version` (only id, version and the type matter to the broker). */
// A whole change in its wire form, as the change feed publishes it (the broker decodes it with the same codec).
const changeOf = (id: string, version: number, changeType: 'CREATED' | 'UPDATED' | 'DELETED' = 'UPDATED') => {
  const at = new Date().toISOString();
  return encodeDeviceChange({
    changeType,
    device: { id, name: id, type: 'sensor', status: 'ONLINE', createdAt: at, updatedAt: at, metadata: {}, readings: {}, version },
    changedAt: at,
    sequence: String(version),
  });
};

// Every case runs over MQTT 3.1.1 and MQTT 5: the same identity, policy, limits and lifecycle;
// only how a refusal reaches the client differs (MQTT 5 has reason codes).
describe.each([4, 5] as const satisfies readonly MqttVersion[])('local broker over MQTT version %i', (protocolVersion) => {
  const v5 = protocolVersion === 5;
  const connect = (url: string, clientId: string, creds: DeviceCredentials) => connectDevice(url, clientId, creds, protocolVersion);
  let dataDir: string;
  let ca: LocalCa;
  let broker: LocalBroker;
  const registry = new Registry();
  let thing: IssuedCertificate;
  const credentials = (issued: IssuedCertificate): DeviceCredentials => ({ cert: issued.certificatePem, key: issued.privateKeyPem, ca: ca.caCertificatePem });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'broker-test-'));
    ca = await openLocalCa(dataDir);
    thing = await ca.issueDeviceCertificate(THING);
    registry.register(THING, thing.certificateId);
    registry.register(OTHER);
    const policy = devicePolicyDocument({ ...LOCAL_POLICY_PARAMS, telemetryRuleName: TEST_RULE_NAME });
    broker = await startBroker({ ca, credentials: registry, policy, port: 0 });
  });
  afterAll(async () => {
    await broker?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('agrees with the policy document on every case', () => {
    it.each(POLICY_CASES)('$name: allowed=$allowed', async ({ clientId, operation, topic, allowed }) => {
      // Prepare / Act
      const outcome = await connect(broker.url, clientId, credentials(thing));
      if (operation === 'connect') {
        // Assess
        expect(outcome.ok).toBe(allowed);
        if (outcome.ok) await outcome.client.endAsync();
        return;
      }
      if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
      const client = outcome.client;
      const closing = closed(client);
      const attempt =
        operation === 'publish' || operation === 'retainPublish'
          ? client.publishAsync(topic!, '{"v":1}', { qos: 1, retain: operation === 'retainPublish' }).then(() => true)
          : client.subscribeAsync(topic!, { qos: 1 }).then((granted) => granted.every((g) => g.qos < 128));
      const result = await Promise.race([attempt.catch(() => false), closing.then(() => false)]);

      // Assess
      if (allowed) {
        expect(result).toBe(true);
        expect(client.connected).toBe(true);
        await client.endAsync();
      } else if (v5) {
        // Refused with reason code 0x87 in the PUBACK or SUBACK, on a connection that stays up.
        expect(result).toBe(false);
        expect(client.connected).toBe(true);
        expect(broker.connectedClientIds()).toContain(THING);
        await client.endAsync();
      } else {
        expect(await settles(closing)).toBe(true);
        expect(client.connected).toBe(false);
        client.end(true);
      }
    });
  });

  it('disconnects a device that publishes with QoS 2, which IoT Core does not support (MQTT 5: DISCONNECT 0x9B)', async () => {
    // Prepare
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
    const client = outcome.client;
    const closing = closed(client);
    const reasonCodes: Array<number | undefined> = [];
    client.on('disconnect', (packet) => reasonCodes.push(packet.reasonCode));

    // Act
    client.publishAsync(telemetryTopic(THING), '{"v":1}', { qos: 2 }).catch(() => undefined);

    // Assess
    expect(await settles(closing)).toBe(true);
    expect(client.connected).toBe(false);
    expect(reasonCodes).toEqual(v5 ? [0x9b] : []);
    client.end(true);
  });

  it('refuses a QoS 2 subscription to its own command topic, which IoT Core does not support (3.1.1: disconnect; 5: SUBACK 0x87)', async () => {
    // Prepare
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
    const client = outcome.client;
    const closing = closed(client);

    // Act
    // MQTT.js rejects a subscribe whose SUBACK carries a failure code, with the SUBACK.
    const refusal = await Promise.race([
      client.subscribeAsync(commandTopic(THING), { qos: 2 }).then(
        () => undefined,
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted?.[0],
      ),
      closing.then(() => undefined),
    ]);

    // Assess
    if (v5) {
      expect(refusal).toBe(0x87);
      expect(client.connected).toBe(true);
      await client.endAsync();
    } else {
      expect(await settles(closing)).toBe(true);
      expect(client.connected).toBe(false);
      client.end(true);
    }
  });

  it('refuses a client without a certificate', async () => {
    // Act
    const outcome = await connect(broker.url, THING, { ca: ca.caCertificatePem });

    // Assess
    expect(outcome.ok).toBe(false);
  });

  it('refuses a certificate from another CA, even naming a registered thing', async () => {
    // Prepare
    const otherDir = await mkdtemp(join(tmpdir(), 'other-ca-'));
    const foreign = await (await openLocalCa(otherDir)).issueDeviceCertificate(THING);

    // Act
    const outcome = await connect(broker.url, THING, credentials(foreign));

    // Assess
    expect(outcome.ok).toBe(false);
    await rm(otherDir, { recursive: true, force: true });
  });

  it('refuses a thing that is not registered', async () => {
    // Prepare
    const unknown = 'c0ffee00-0000-4000-8000-0000000000ff';
    const issued = await ca.issueDeviceCertificate(unknown);

    // Act
    const outcome = await connect(broker.url, unknown, credentials(issued));

    // Assess
    expect(outcome.ok).toBe(false);
  });

  it('refuses an older certificate of a re-provisioned thing', async () => {
    // Prepare: OTHER's registered certificate is `current`; `stale` was issued for it earlier
    const stale = await ca.issueDeviceCertificate(OTHER);
    const current = await ca.issueDeviceCertificate(OTHER);
    registry.register(OTHER, current.certificateId);

    // Act
    const refused = await connect(broker.url, OTHER, credentials(stale));
    const accepted = await connect(broker.url, OTHER, credentials(current));

    // Assess
    expect(refused.ok).toBe(false);
    expect(accepted.ok).toBe(true);
    if (accepted.ok) await accepted.client.endAsync();
  });

  it('refuses a registered thing whose record names no certificate (fails closed)', async () => {
    // Prepare: a registered device with no certificate bound
    const bare = 'c0ffee00-0000-4000-8000-0000000000aa';
    const issued = await ca.issueDeviceCertificate(bare);
    registry.register(bare);

    // Act
    const outcome = await connect(broker.url, bare, credentials(issued));

    // Assess
    expect(outcome.ok).toBe(false);
  });

  it('emits lifecycle events in IoT shape with increasing version numbers', async () => {
    // Prepare: no session of an earlier test is still closing
    await waitFor(() => !broker.connectedClientIds().includes(THING));
    const events: PresenceEvent[] = [];
    const stop = await broker.bus.subscribe('$aws/events/presence/+/+', (topic, payload) => {
      const event = JSON.parse(payload.toString()) as PresenceEvent;
      expect(topic).toBe(presenceTopic(event.eventType, event.clientId));
      events.push(event);
    });

    // Act: a clean disconnect, then a connection that is cut by a denied publish (MQTT 5 keeps a
    // connection through a policy denial, so there a QoS 2 publish cuts it)
    const first = await connect(broker.url, THING, credentials(thing));
    if (!first.ok) throw new Error(first.error);
    await first.client.endAsync();
    const second = await connect(broker.url, THING, credentials(thing));
    if (!second.ok) throw new Error(second.error);
    const closing = closed(second.client);
    if (v5) second.client.publish(stateTopic(THING), 'x', { qos: 2 });
    else second.client.publish(stateTopic(OTHER), 'x', { qos: 1 });
    await closing;
    await waitFor(() => events.length >= 4);
    await stop();

    // Assess
    const sessions = new Set(events.filter((e) => e.eventType === 'connected').map((e) => e.sessionIdentifier));
    const mine = events.filter((e) => e.clientId === THING && sessions.has(e.sessionIdentifier));
    expect(mine.map((e) => [e.eventType, e.disconnectReason])).toEqual([
      ['connected', undefined],
      ['disconnected', 'CLIENT_INITIATED_DISCONNECT'],
      ['connected', undefined],
      ['disconnected', 'AUTH_ERROR'],
    ]);
    for (let i = 1; i < mine.length; i += 1) expect(mine[i]!.versionNumber).toBeGreaterThan(mine[i - 1]!.versionNumber);
    expect(mine[0]).toMatchObject({ principalIdentifier: thing.certificateId, ipAddress: '127.0.0.1' });
    expect(mine[1]!.sessionIdentifier).toBe(mine[0]!.sessionIdentifier);
    expect(mine[2]!.sessionIdentifier).not.toBe(mine[0]!.sessionIdentifier);
    expect(mine[1]!.clientInitiatedDisconnect).toBe(true);
    expect(typeof mine[0]!.timestamp).toBe('number');
  });

  it('closes the older session when the same client id connects again (DUPLICATE_CLIENTID)', async () => {
    // Prepare
    const reasons: Array<string | undefined> = [];
    const stop = await broker.bus.subscribe(presenceTopic('disconnected', THING), (_topic, payload) => {
      reasons.push((JSON.parse(payload.toString()) as PresenceEvent).disconnectReason);
    });
    const first = await connect(broker.url, THING, credentials(thing));
    if (!first.ok) throw new Error(first.error);
    const firstClosed = closed(first.client);

    // Act
    const second = await connect(broker.url, THING, credentials(thing));
    if (!second.ok) throw new Error(second.error);
    await firstClosed;
    await waitFor(() => reasons.length >= 1);

    // Assess
    expect(reasons[0]).toBe('DUPLICATE_CLIENTID');
    expect(second.client.connected).toBe(true);
    first.client.end(true);
    await second.client.endAsync();
    await stop();
  });

  it('disconnects a client that exceeds the publish rate (THROTTLED)', async () => {
    // Prepare: a broker whose clock stands still, so the bucket of 3 publishes never refills
    const frozen = await startBroker({ ca, credentials: registry, port: 0, maxPublishesPerSecond: 3, clock: () => 1_700_000_000_000 });
    const reasons: Array<string | undefined> = [];
    await frozen.bus.subscribe(presenceTopic('disconnected', THING), (_topic, payload) => {
      reasons.push((JSON.parse(payload.toString()) as PresenceEvent).disconnectReason);
    });
    const outcome = await connect(frozen.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(outcome.error);
    const closing = closed(outcome.client);
    const reasonCodes: Array<number | undefined> = [];
    outcome.client.on('disconnect', (packet) => reasonCodes.push(packet.reasonCode));

    // Act
    for (let i = 0; i < 3; i += 1) await outcome.client.publishAsync(stateTopic(THING), String(i), { qos: 1 });
    const connectedAfterThree = outcome.client.connected;
    outcome.client.publish(stateTopic(THING), 'one too many', { qos: 1 });

    // Assess
    expect(connectedAfterThree).toBe(true);
    expect(await settles(closing)).toBe(true);
    await waitFor(() => reasons.length >= 1);
    expect(reasons).toEqual(['THROTTLED']);
    expect(reasonCodes).toEqual(v5 ? [0x96] : []);
    outcome.client.end(true);
    await frozen.stop();
  });

  it('accepts a 128 KB payload and disconnects a client publishing one byte more (CLIENT_ERROR), as IoT Core does', async () => {
    // Prepare
    const reasons: Array<string | undefined> = [];
    const stopEvents = await broker.bus.subscribe(presenceTopic('disconnected', THING), (_topic, payload) => {
      reasons.push((JSON.parse(payload.toString()) as PresenceEvent).disconnectReason);
    });
    const routed: number[] = [];
    const stopListening = broker.onPublish((message) => {
      if (message.topic === stateTopic(THING)) routed.push(message.payload.byteLength);
    });
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(outcome.error);
    const closing = closed(outcome.client);
    const reasonCodes: Array<number | undefined> = [];
    outcome.client.on('disconnect', (packet) => reasonCodes.push(packet.reasonCode));

    // Act
    await outcome.client.publishAsync(stateTopic(THING), Buffer.alloc(128 * 1024, 0x61), { qos: 1 });
    const connectedAtLimit = outcome.client.connected;
    outcome.client.publish(stateTopic(THING), Buffer.alloc(128 * 1024 + 1, 0x61), { qos: 1 });

    // Assess
    expect(connectedAtLimit).toBe(true);
    expect(await settles(closing)).toBe(true);
    await waitFor(() => reasons.length >= 1);
    expect(reasons).toEqual(['CLIENT_ERROR']);
    expect(reasonCodes).toEqual(v5 ? [0x95] : []);
    expect(routed).toEqual([128 * 1024]);
    outcome.client.end(true);
    stopListening();
    await stopEvents();
  });

  it('ends a session whose device was revoked while it was being admitted (no change reaches an unannounced session)', async () => {
    // Prepare: the admission read sees ACTIVE; the revoke lands right after it, before the session is announced
    let reads = 0;
    const racing: CertificateBindingReader = {
      async get(id) {
        reads += 1;
        const binding = await registry.get(id);
        return reads === 1 ? binding : binding && { ...binding, status: 'REVOKED', version: binding.version + 1 };
      },
    };
    const raced = await startBroker({ ca, credentials: racing, port: 0 });

    // Act
    const outcome = await connect(raced.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(`the admission read said ACTIVE, yet: ${outcome.error}`);

    // Assess
    expect(await settles(closed(outcome.client))).toBe(true);
    expect(reads).toBe(2);
    outcome.client.end(true);
    await raced.stop();
  });

  it('delivers a command published on the bus to the subscribed device only', async () => {
    // Prepare
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(outcome.error);
    const client: MqttClient = outcome.client;
    await client.subscribeAsync(commandTopic(THING), { qos: 1 });
    const received = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));

    // Act
    await broker.bus.publish(commandTopic(THING), '{"reboot":true}', { qos: 1 });

    // Assess
    expect(await received).toBe('{"reboot":true}');
    await client.endAsync();
  });

  // MQTT 3.1.1 has no reason codes: there the case table shows the disconnect.
  if (v5) it('answers a publish the policy denies with PUBACK 0x87 and keeps the connection, publishing nothing', async () => {
    // Prepare
    const routed: string[] = [];
    const stopListening = broker.onPublish((message) => {
      if (message.clientId === THING) routed.push(message.topic);
    });
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(outcome.error);

    // Act
    const refusal = await outcome.client.publishAsync(stateTopic(OTHER), '{"forged":true}', { qos: 1 }).then(
      () => undefined,
      (error: { code?: number }) => error.code,
    );
    await outcome.client.publishAsync(stateTopic(THING), '{"ok":true}', { qos: 1 });

    // Assess
    expect(refusal).toBe(0x87);
    expect(outcome.client.connected).toBe(true);
    expect(routed).toEqual([stateTopic(THING)]);
    stopListening();
    await outcome.client.endAsync();
  });

  it('disconnects a connected device when its certificate is revoked', async () => {
    // Prepare
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(outcome.error);
    const closing = closed(outcome.client);
    const reasonCodes: Array<number | undefined> = [];
    outcome.client.on('disconnect', (packet) => reasonCodes.push(packet.reasonCode));
    const revoked = registry.revoke(THING);

    // Act: the change feed relays the device change (with its new version) on the bus
    await broker.bus.publish(`internal/device-changes/${THING}`, changeOf(THING, revoked.version));

    // Assess
    await closing;
    expect(reasonCodes).toEqual(v5 ? [0x87] : []);
    expect((await connect(broker.url, THING, credentials(thing))).ok).toBe(false);
    registry.register(THING, thing.certificateId);
  });

  it('disconnects a connected device when another certificate is bound to it', async () => {
    // Prepare
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(outcome.error);
    const closing = closed(outcome.client);
    const replacement = await ca.issueDeviceCertificate(THING);
    registry.register(THING, replacement.certificateId);

    // Act
    await broker.bus.publish(`internal/device-changes/${THING}`, changeOf(THING, registry.bindings.get(THING)!.version));

    // Assess
    expect(await settles(closing)).toBe(true);
    registry.register(THING, thing.certificateId);
  });

  it('keeps a device connected through changes that leave its binding as it was', async () => {
    // Prepare
    const outcome = await connect(broker.url, THING, credentials(thing));
    if (!outcome.ok) throw new Error(outcome.error);
    const { version } = registry.bindings.get(THING)!;

    // Act: a registry update (newer version, same binding), then a telemetry write (same version)
    await broker.bus.publish(`internal/device-changes/${THING}`, changeOf(THING, version + 1));
    await broker.bus.publish(`internal/device-changes/${THING}`, changeOf(THING, version + 1));
    await outcome.client.publishAsync(stateTopic(THING), '{"ok":true}', { qos: 1 });

    // Assess
    expect(outcome.client.connected).toBe(true);
    expect(broker.connectedClientIds()).toContain(THING);
    await outcome.client.endAsync();
  });
});

/** Whether `promise` settles within a generous bound, so a missing disconnect fails instead of hanging. */
function settles(promise: Promise<unknown>, ms = 5_000): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error('condition not met');
}
