import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/device.js';
import { runCommand } from './run-command.js';
import { LocalTokenIssuer } from '../../../src/local/appsync/local-token-issuer.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { readDeviceBundle, type DeviceBundle } from '../../../src/provisioning/device-bundle.js';
import { closed, connectDevice, type DeviceCredentials } from '../../local/iot-core/mqtt-device.js';
import { waitFor } from '../../support/wait-for.js';

const TELEMETRY = `query T($deviceId: ID!, $from: AWSDateTime!, $to: AWSDateTime!) {
  telemetry(deviceId: $deviceId, metric: "temperature", from: $from, to: $to, limit: 100) { items { timestamp numberValue } } }`;

describe('iotctl device rotate (local, real MQTT clients over mutual TLS)', () => {
  let dataDir: string;
  let out: string;
  let platform: LocalPlatform;
  let mqttPort: string;
  let admin: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iotctl-rotate-'));
    out = await mkdtemp(join(tmpdir(), 'iotctl-rotate-out-'));
    platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
    mqttPort = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:')).port;
    admin = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'] });
  });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  });

  const run = (args: string[]) => runCommand(register, 'device', args);

  const local = () => ['--endpoint', platform.dynamodbEndpoint, '--data-dir', dataDir, '--mqtt-port', mqttPort];
  const credentialsOf = (bundle: DeviceBundle, key = bundle.privateKeyPem): DeviceCredentials => ({ cert: bundle.certificatePem, key, ca: bundle.caCertificatePem });

  async function created(name: string): Promise<DeviceBundle> {
    const result = await run(['create', name, '--out', join(out, name, 'old'), ...local()]);
    expect(result.lines[0]).toBe('created 1, resumed 0, unchanged 0, failed 0');
    return readDeviceBundle(join(out, name, 'old'));
  }

  async function connected(id: string, credentials: DeviceCredentials): Promise<MqttClient> {
    const outcome = await connectDevice(platform.endpoints.mqtt!, id, credentials);
    if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
    clients.push(outcome.client);
    return outcome.client;
  }

  async function refused(id: string, credentials: DeviceCredentials): Promise<boolean> {
    const outcome = await connectDevice(platform.endpoints.mqtt!, id, credentials);
    if (outcome.ok) outcome.client.end(true);
    return !outcome.ok;
  }

  /** Publishes one reading with QoS 1: resolves once the broker acknowledged it (durably accepted). */
  const publish = (client: MqttClient, bundle: DeviceBundle, ts: number, seq: number) =>
    client.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 1, ts, seq, metrics: { temperature: seq } }), { qos: 1 });

  async function storedReadings(id: string, from: number, to: number): Promise<number[]> {
    await platform.flushIngest();
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: admin },
      body: JSON.stringify({ query: TELEMETRY, variables: { deviceId: id, from: new Date(from).toISOString(), to: new Date(to).toISOString() } }),
    });
    const body = (await response.json()) as { data?: { telemetry: { items: { numberValue: number }[] } }; errors?: unknown };
    if (!body.data) throw new Error(`telemetry query failed: ${JSON.stringify(body.errors)}`);
    return body.data.telemetry.items.map((item) => item.numberValue).sort((a, b) => a - b);
  }

  it('keeps the old certificate publishing through the rotation, admits the new one in the grace period, and at --finish cuts off and refuses the old one while the new one keeps working', async () => {
    // Prepare: the device runs on its first certificate
    const old = await created('pump');
    const id = old.manifest.thingName;
    const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    let onOld = await connected(id, credentialsOf(old));
    await publish(onOld, old, base + 1000, 1);

    // Act: rotate while it is connected
    const rotated = await run(['rotate', id, '--out', join(out, 'pump', 'new'), ...local()]);

    // Assess: the old session goes on, its readings are stored
    expect(rotated.errors).toEqual([]);
    expect(rotated.exitCode).toBe(0);
    const fresh = await readDeviceBundle(join(out, 'pump', 'new'));
    expect(fresh.manifest).toMatchObject({ thingName: id, name: 'pump', target: 'local', port: Number(mqttPort) });
    expect(fresh.manifest.certificateId).not.toBe(old.manifest.certificateId);
    expect((await stat(join(out, 'pump', 'new', 'device.key'))).mode & 0o777).toBe(0o600);
    const binding = await platform.credentials.get(id);
    expect(binding).toMatchObject({ certificateId: old.manifest.certificateId, pendingCertificateId: fresh.manifest.certificateId, status: 'ACTIVE' });
    expect(rotated.lines).toEqual([
      `rotating ${id}: new certificate ${fresh.manifest.certificateId} written to ${join(out, 'pump', 'new')}`,
      `both ${old.manifest.certificateId} and the new certificate are admitted until ${binding!.graceEndsAt}`,
      `once the device uses the new certificate: iotctl device rotate ${id} --finish`,
    ]);
    // Seven days by default.
    expect(Date.parse(binding!.graceEndsAt!) - Date.parse(binding!.rotationStartedAt!)).toBe(7 * 24 * 3600 * 1000);
    // The rotation's change reached the broker, which re-checked the session and kept it.
    await platform.changeFeed.flush();
    await publish(onOld, old, base + 2000, 2);
    expect(onOld.connected).toBe(true);

    // Act: the device switches to the new certificate (one session per client id: the old one is taken over)
    const onNew = await connected(id, credentialsOf(fresh));
    await closed(onOld);
    await publish(onNew, fresh, base + 3000, 3);
    onNew.end(true);
    // ...and back: until --finish the old certificate is still admitted
    onOld = await connected(id, credentialsOf(old));
    await publish(onOld, old, base + 4000, 4);
    const cutOff = closed(onOld);

    // Act
    const finished = await run(['rotate', id, '--finish', '--endpoint', platform.dynamodbEndpoint]);

    // Assess: the old session is cut, the old certificate refused, the new one works
    expect(finished.errors).toEqual([]);
    expect(finished.lines).toEqual([
      `finished rotation of ${id}: certificate ${old.manifest.certificateId} revoked`,
      `admitted now: ${fresh.manifest.certificateId} only`,
    ]);
    await cutOff;
    expect(await refused(id, credentialsOf(old))).toBe(true);
    const after = await connected(id, credentialsOf(fresh));
    await publish(after, fresh, base + 5000, 5);
    expect(await platform.credentials.get(id)).toEqual(expect.objectContaining({ certificateId: fresh.manifest.certificateId, status: 'ACTIVE' }));
    expect(await platform.credentials.get(id)).not.toHaveProperty('pendingCertificateId');
    expect(await waitFor(async () => {
      const stored = await storedReadings(id, base, base + 6000);
      return stored.length === 5 ? stored : undefined;
    }, 'five stored readings')).toEqual([1, 2, 3, 4, 5]);
    after.end(true);
  });

  it('rotates with a CSR whose key iotctl never sees, and refuses a weak CSR without touching the binding', async () => {
    // Prepare: the device makes its new key itself
    const old = await created('meter');
    const id = old.manifest.thingName;
    const keys = join(out, 'meter', 'device-side');
    execFileSync('mkdir', ['-p', keys]);
    const keyFile = join(keys, 'new.key');
    const csrFile = join(keys, 'new.csr');
    execFileSync('openssl', ['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', keyFile, '-out', csrFile, '-subj', '/CN=whatever'], { stdio: 'pipe' });
    const weakCsr = join(keys, 'weak.csr');
    execFileSync('openssl', ['req', '-new', '-nodes', '-newkey', 'rsa:1024', '-keyout', join(keys, 'weak.key'), '-out', weakCsr, '-subj', '/CN=x'], { stdio: 'pipe' });
    const onOld = await connected(id, credentialsOf(old));

    // Act
    const weak = await run(['rotate', id, '--csr', weakCsr, '--out', join(out, 'meter', 'weak'), ...local()]);
    const rotated = await run(['rotate', id, '--csr', csrFile, '--grace', '2h', '--out', join(out, 'meter', 'new'), ...local()]);

    // Assess
    expect(weak.exitCode).toBe(1);
    expect(weak.errors).toEqual([expect.stringMatching(/RSA key of 1024 bits is too weak/)]);
    await expect(stat(join(out, 'meter', 'weak'))).rejects.toThrow();
    expect(rotated.errors).toEqual([]);
    expect(rotated.lines[0]).toMatch(/\(no device\.key: the key stays on the device\)$/);
    await expect(stat(join(out, 'meter', 'new', 'device.key'))).rejects.toThrow();
    const fresh = await readDeviceBundle(join(out, 'meter', 'new'));
    const deviceKey = await readFile(keyFile, 'utf8');
    const certificate = new X509Certificate(fresh.certificatePem);
    expect(certificate.checkPrivateKey(createPrivateKey(deviceKey))).toBe(true);
    expect(certificate.subject).toBe(`CN=${id}`);
    const binding = (await platform.credentials.get(id))!;
    expect(Date.parse(binding.graceEndsAt!) - Date.parse(binding.rotationStartedAt!)).toBe(2 * 3600 * 1000);
    expect(onOld.connected).toBe(true);
    const cutOff = closed(onOld);
    const onNew = await connected(id, credentialsOf(fresh, deviceKey));
    await cutOff;
    onNew.end(true);
    const finished = await run(['rotate', id, '--finish', '--endpoint', platform.dynamodbEndpoint]);
    expect(finished.exitCode).toBe(0);
    expect(await refused(id, credentialsOf(old))).toBe(true);
    const again = await connected(id, credentialsOf(fresh, deviceKey));
    await publish(again, fresh, Date.now() - 1000, 1);
    again.end(true);
  });

  it('ends the old certificate at the end of the grace period without a --finish: its session is cut and it is refused', async () => {
    // Prepare
    const old = await created('valve');
    const id = old.manifest.thingName;
    const onOld = await connected(id, credentialsOf(old));
    const cutOff = closed(onOld);

    // Act
    const rotated = await run(['rotate', id, '--grace', '3s', '--out', join(out, 'valve', 'new'), ...local()]);

    // Assess
    expect(rotated.exitCode).toBe(0);
    await cutOff;
    expect(await refused(id, credentialsOf(old))).toBe(true);
    const fresh = await readDeviceBundle(join(out, 'valve', 'new'));
    const onNew = await connected(id, credentialsOf(fresh));
    await publish(onNew, fresh, Date.now() - 1000, 1);
    onNew.end(true);
    // The pending certificate is still to be made the only one.
    expect((await run(['rotate', id, '--finish', '--endpoint', platform.dynamodbEndpoint])).exitCode).toBe(0);
  });

  it('answers every misuse with a clear error and changes nothing', async () => {
    // Prepare
    const old = await created('gate');
    const id = old.manifest.thingName;
    const gone = await created('gone');
    await platform.registry.delete(gone.manifest.thingName);

    // Act
    const nothingPending = await run(['rotate', id, '--finish', '--endpoint', platform.dynamodbEndpoint]);
    const unknown = await run(['rotate', '00000000-0000-4000-8000-000000000000', '--out', join(out, 'x'), ...local()]);
    const deleted = await run(['rotate', gone.manifest.thingName, '--out', join(out, 'y'), ...local()]);
    const noOut = await run(['rotate', id, ...local()]);
    const onBundle = await run(['rotate', id, '--out', join(out, 'gate', 'old'), ...local()]);
    const finishWithOut = await run(['rotate', id, '--finish', '--out', join(out, 'z'), '--endpoint', platform.dynamodbEndpoint]);
    const badGrace = await run(['rotate', id, '--grace', 'soon', '--out', join(out, 'w'), ...local()]).catch((error: Error) => ({ error }));
    const first = await run(['rotate', id, '--out', join(out, 'gate', 'new'), ...local()]);
    const second = await run(['rotate', id, '--out', join(out, 'gate', 'newer'), ...local()]);

    // Assess
    expect(nothingPending).toMatchObject({ exitCode: 1, errors: [expect.stringMatching(/no rotation is pending/)] });
    expect(unknown).toMatchObject({ exitCode: 1, errors: [expect.stringMatching(/does not exist \(deleted or never created\)/)] });
    expect(deleted).toMatchObject({ exitCode: 1, errors: [expect.stringMatching(/does not exist \(deleted or never created\)/)] });
    expect(noOut).toMatchObject({ exitCode: 1, errors: [expect.stringMatching(/needs --out/)] });
    expect(onBundle).toMatchObject({ exitCode: 1, errors: [expect.stringMatching(/already holds a device bundle/)] });
    expect(finishWithOut).toMatchObject({ exitCode: 1, errors: [expect.stringMatching(/--finish takes no --out/)] });
    expect(badGrace).toMatchObject({ error: expect.objectContaining({ message: expect.stringMatching(/unit: s, m, h or d/) }) });
    expect(first.exitCode).toBe(0);
    expect(second).toMatchObject({ exitCode: 1, errors: [expect.stringMatching(/already pending .*finish it first/)] });
    await expect(stat(join(out, 'gate', 'newer'))).rejects.toThrow();
    for (const dir of ['x', 'y', 'z', 'w']) await expect(stat(join(out, dir))).rejects.toThrow();
    expect((await readDeviceBundle(join(out, 'gate', 'old'))).manifest.certificateId).toBe(old.manifest.certificateId);
  });

  it('deleting a device in the middle of a rotation cuts its session and refuses both certificates', async () => {
    // Prepare
    const old = await created('lamp');
    const id = old.manifest.thingName;
    expect((await run(['rotate', id, '--out', join(out, 'lamp', 'new'), ...local()])).exitCode).toBe(0);
    const fresh = await readDeviceBundle(join(out, 'lamp', 'new'));
    const onNew = await connected(id, credentialsOf(fresh));
    const cutOff = closed(onNew);

    // Act
    await platform.registry.delete(id);

    // Assess
    await cutOff;
    expect(await refused(id, credentialsOf(old))).toBe(true);
    expect(await refused(id, credentialsOf(fresh))).toBe(true);
  });
});
