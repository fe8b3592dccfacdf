import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/device.js';
import { runCommand } from './run-command.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { readDeviceBundle, type DeviceManifest } from '../../../src/provisioning/device-bundle.js';
import { closed, bundleCredentials, connectDevice } from '../../local/iot-core/mqtt-device.js';

describe('iotctl device (local)', () => {
  let dataDir: string;
  let out: string;
  let platform: LocalPlatform;
  let mqttPort: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iotctl-device-'));
    out = await mkdtemp(join(tmpdir(), 'iotctl-device-out-'));
    platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
    mqttPort = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:')).port;
  });
  afterAll(async () => {
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  });

  const run = (args: string[]) => runCommand(register, 'device', args);

  const local = () => ['--endpoint', platform.dynamodbEndpoint, '--data-dir', dataDir, '--mqtt-port', mqttPort];

  it('creates devices with bundles the broker accepts, reuses them on a second run, and revokes one', async () => {
    // Act
    const created = await run(['create', 'pump', '--type', 'pump', '--count', '3', '--out', out, ...local()]);
    const again = await run(['create', 'pump', '--type', 'pump', '--count', '3', '--out', out, ...local()]);

    // Assess
    expect(created.lines[0]).toBe('created 3, resumed 0, unchanged 0, failed 0');
    expect(again.lines[0]).toBe('created 0, resumed 0, unchanged 3, failed 0');
    const bundle = await readDeviceBundle(join(out, 'pump-2'));
    const manifest: DeviceManifest = bundle.manifest;
    expect(manifest).toMatchObject({ name: 'pump-2', type: 'pump', target: 'local', endpoint: '127.0.0.1', port: Number(mqttPort) });
    expect((await stat(join(out, 'pump-2', 'device.key'))).mode & 0o777).toBe(0o600);
    const device = await platform.registry.get(manifest.thingName);
    expect(device).toMatchObject({ name: 'pump-2', type: 'pump' });
    const connection = await connectDevice(platform.endpoints.mqtt!, manifest.thingName, bundleCredentials(bundle));
    if (!connection.ok) throw new Error(connection.error);
    const closing = closed(connection.client);

    // Act
    const revoked = await run(['revoke', manifest.thingName, '--endpoint', platform.dynamodbEndpoint]);

    // Assess
    expect(revoked.errors).toEqual([]);
    expect(revoked.lines).toEqual([`revoked ${manifest.thingName}`]);
    await closing;
    expect(await platform.credentials.get(manifest.thingName)).toMatchObject({ certificateId: manifest.certificateId, status: 'REVOKED' });
    const recreated = await run(['create', 'pump', '--type', 'pump', '--count', '3', '--out', out, ...local()]);
    expect(recreated.lines[0]).toBe('created 1, resumed 0, unchanged 2, failed 0');
  });

  it('writes a single device directly into --out', async () => {
    // Prepare
    const single = join(out, 'single');

    // Act
    const result = await run(['create', 'boiler', '--out', single, ...local()]);

    // Assess
    const manifest = JSON.parse(await readFile(join(single, 'device.json'), 'utf8')) as DeviceManifest;
    expect(result.lines).toEqual(['created 1, resumed 0, unchanged 0, failed 0', `thing name ${manifest.thingName}`]);
    expect(manifest.topics.commands).toBe(`cmd/iot/${manifest.thingName}/commands`);
  });

  it('explains an unreachable local platform and exits 1', async () => {
    // Act
    const result = await run(['revoke', '00000000-0000-4000-8000-000000000000', '--endpoint', 'http://127.0.0.1:9']);

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(/cannot reach the local platform's DynamoDB endpoint http:\/\/127\.0\.0\.1:9/);
  });

  it('reports an invalid name per device and a missing AWS setting, registering nothing', async () => {
    // Prepare
    await platform.changeFeed.flush();
    const before = (await platform.registry.stats()).total;
    delete process.env.IOT_DEVICE_POLICY_NAME;

    // Act
    const longName = await run(['create', 'n'.repeat(129), '--out', join(out, 'long'), ...local()]);
    const aws = await run(['create', 'x', '--out', join(out, 'aws'), '--target', 'aws', '--devices-table', 'Devices']);

    // Assess
    expect(longName.exitCode).toBe(1);
    expect(longName.lines[0]).toBe('created 0, resumed 0, unchanged 0, failed 1');
    expect(longName.lines[1]).toMatch(/ValidationError: .*name/i);
    expect(aws.exitCode).toBe(1);
    expect(aws.errors).toEqual([expect.stringMatching(/--target aws needs --policy-name/)]);
    await platform.changeFeed.flush();
    expect((await platform.registry.stats()).total).toBe(before);
  });

  it('answers a revoke of a deleted (or unknown) device with what the broker does, and refuses a bad type without writing anything', async () => {
    // Act
    const unknown = await run(['revoke', '00000000-0000-4000-8000-000000000000', '--endpoint', platform.dynamodbEndpoint]);
    const badType = await run(['create', 'x', '--type', 'Bad Type', '--out', join(out, 'bad'), ...local()]).catch((error: Error) => ({ error }));

    // Assess
    expect(unknown.exitCode).toBe(0);
    expect(unknown.lines).toEqual(['revoked 00000000-0000-4000-8000-000000000000 (no such device is registered, deleted or never created: the broker admits no certificate of it)']);
    expect('error' in badType).toBe(true);
    await expect(stat(join(out, 'bad'))).rejects.toThrow();
  });
});
