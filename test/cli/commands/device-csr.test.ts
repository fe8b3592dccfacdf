import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/device.js';
import { runCommand } from './run-command.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { readDeviceBundle } from '../../../src/provisioning/device-bundle.js';
import { connectDevice } from '../../local/iot-core/mqtt-device.js';

/** A key and CSR made the way a device would make them; iotctl only ever sees the CSR. */
function deviceKeyAndCsr(dir: string, stem: string, newKey: string[], subject = '/CN=chosen-by-device'): { keyFile: string; csrFile: string } {
  const keyFile = join(dir, `${stem}.key`);
  const csrFile = join(dir, `${stem}.csr`);
  execFileSync('openssl', ['req', '-new', '-nodes', ...newKey, '-keyout', keyFile, '-out', csrFile, '-subj', subject], { stdio: 'pipe' });
  return { keyFile, csrFile };
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

describe('iotctl device create --csr (local)', () => {
  let dataDir: string;
  let out: string;
  let keys: string;
  let platform: LocalPlatform;
  let mqttPort: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iotctl-csr-'));
    out = await mkdtemp(join(tmpdir(), 'iotctl-csr-out-'));
    keys = await mkdtemp(join(tmpdir(), 'iotctl-csr-keys-'));
    platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
    mqttPort = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:')).port;
  });
  afterAll(async () => {
    await platform?.stop();
    for (const dir of [dataDir, out, keys]) await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) => runCommand(register, 'device', args);

  const local = () => ['--endpoint', platform.dynamodbEndpoint, '--data-dir', dataDir, '--mqtt-port', mqttPort];

  it('signs the device CSR without ever holding its key, and the device connects over mutual TLS with its own key', async () => {
    // Prepare
    const { keyFile, csrFile } = deviceKeyAndCsr(keys, 'meter', P256, '/CN=someone-else');
    const target = join(out, 'meter');

    // Act
    const created = await run(['create', 'meter', '--csr', csrFile, '--out', target, ...local()]);

    // Assess
    expect(created.errors).toEqual([]);
    expect(created.lines[0]).toBe('created 1, resumed 0, unchanged 0, failed 0');
    await expect(stat(join(target, 'device.key'))).rejects.toThrow();
    const bundle = await readDeviceBundle(target);
    expect(bundle.privateKeyPem).toBeUndefined();
    const certificate = new X509Certificate(bundle.certificatePem);
    const deviceKey = await readFile(keyFile, 'utf8');
    expect(certificate.checkPrivateKey(createPrivateKey(deviceKey))).toBe(true);
    // The thing name, not the CSR's subject, names the certificate.
    expect(certificate.subject).toBe(`CN=${bundle.manifest.thingName}`);
    expect(certificate.verify(new X509Certificate(bundle.caCertificatePem).publicKey)).toBe(true);
    const connection = await connectDevice(platform.endpoints.mqtt!, bundle.manifest.thingName, { cert: bundle.certificatePem, key: deviceKey, ca: bundle.caCertificatePem });
    if (!connection.ok) throw new Error(connection.error);
    connection.client.end(true);
    const again = await run(['create', 'meter', '--csr', csrFile, '--out', target, ...local()]);
    expect(again.lines[0]).toBe('created 0, resumed 0, unchanged 1, failed 0');
  });

  it('--csr-dir makes one device per CSR and refuses weak keys and forged signatures without registering them', async () => {
    // Prepare
    const csrDir = join(keys, 'bulk');
    await mkdir(csrDir);
    const rsa = deviceKeyAndCsr(csrDir, 'a-rsa', ['-newkey', 'rsa:2048']);
    const p384 = deviceKeyAndCsr(csrDir, 'b-p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']);
    deviceKeyAndCsr(csrDir, 'c-rsa1024', ['-newkey', 'rsa:1024']);
    deviceKeyAndCsr(csrDir, 'd-k256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1']);
    const forged = deviceKeyAndCsr(csrDir, 'e-forged', P256);
    const der = execFileSync('openssl', ['req', '-in', forged.csrFile, '-outform', 'DER']);
    // The signature is the DER's last field: flipping its last byte breaks only the proof of possession.
    der[der.length - 1]! ^= 0x01;
    const forgedPem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    await writeFile(forged.csrFile, forgedPem);
    await writeFile(join(csrDir, 'f-garbage.pem'), 'not a csr\n');
    await platform.changeFeed.flush();
    const before = (await platform.registry.stats()).total;
    const target = join(out, 'bulk');

    // Act
    const created = await run(['create', 'fleet', '--csr-dir', csrDir, '--out', target, ...local()]);

    // Assess
    expect(created.exitCode).toBe(1);
    expect(created.lines[0]).toBe('created 2, resumed 0, unchanged 0, failed 4');
    const failures = created.lines.slice(1).join('\n');
    expect(failures).toMatch(/fleet-c-rsa1024: ValidationError: .*RSA key of 1024 bits is too weak/);
    expect(failures).toMatch(/fleet-d-k256: ValidationError: .*EC curve secp256k1 is not accepted/);
    expect(failures).toMatch(/fleet-e-forged: ValidationError: .*signature does not verify/);
    expect(failures).toMatch(/fleet-f-garbage: ValidationError: .*not a PEM certificate signing request/);
    for (const refused of ['fleet-c-rsa1024', 'fleet-d-k256', 'fleet-e-forged', 'fleet-f-garbage']) await expect(stat(join(target, refused))).rejects.toThrow();
    await platform.changeFeed.flush();
    expect((await platform.registry.stats()).total).toBe(before + 2);
    for (const [dir, keyFile] of [['fleet-a-rsa', rsa.keyFile], ['fleet-b-p384', p384.keyFile]] as const) {
      const bundle = await readDeviceBundle(join(target, dir));
      const connection = await connectDevice(platform.endpoints.mqtt!, bundle.manifest.thingName, {
        cert: bundle.certificatePem,
        key: await readFile(keyFile, 'utf8'),
        ca: bundle.caCertificatePem,
      });
      if (!connection.ok) throw new Error(`${dir}: ${connection.error}`);
      connection.client.end(true);
    }
  });

  it('refuses --csr with --count and --csr with --csr-dir', async () => {
    // Prepare
    const { csrFile } = deviceKeyAndCsr(keys, 'flags', P256);

    // Act
    const withCount = await run(['create', 'x', '--csr', csrFile, '--count', '2', '--out', join(out, 'count'), ...local()]);
    const both = await run(['create', 'x', '--csr', csrFile, '--csr-dir', keys, '--out', join(out, 'both'), ...local()]);

    // Assess
    expect(withCount.errors).toEqual([expect.stringMatching(/--count does not combine with --csr/)]);
    expect(both.errors).toEqual([expect.stringMatching(/--csr or --csr-dir, not both/)]);
    for (const r of [withCount, both]) expect(r.exitCode).toBe(1);
  });
});
