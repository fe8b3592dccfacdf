import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbDeviceCredentialStore } from '../../src/adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { DEVICES_TABLE, STATS_TABLE } from '../../src/contracts/tables.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import { ensureTables, localTableNames } from '../../src/local/dynamodb/dynalite.js';
import { provisionAwsDevices, revokeAwsDevice, type IotCommand, type IotSender } from '../../src/provisioning/aws-provisioner.js';
import type { DeviceManifest } from '../../src/provisioning/device-bundle.js';
import { useLocalDynamo } from '../support/local-dynamo.js';

const dynamo = useLocalDynamo();
let tablesMade = 0;

/** A registry and credential store on fresh dynalite tables (the binding lives in the registry's items). */
async function freshStores(): Promise<{ registry: DeviceRegistry; credentials: DynamoDbDeviceCredentialStore }> {
  tablesMade += 1;
  const names = localTableNames(`aws-prov-${tablesMade}-`);
  await ensureTables(dynamo.endpoint, names, [DEVICES_TABLE, STATS_TABLE]);
  return {
    registry: new DeviceRegistry({
      repository: new DynamoDbDeviceRepository(dynamo.doc, names[DEVICES_TABLE.id]!),
      stats: new DynamoDbStatsStore(dynamo.doc, names[STATS_TABLE.id]!),
      pageTokens: createPageTokenCodec('s'.repeat(32)),
    }),
    credentials: new DynamoDbDeviceCredentialStore(dynamo.doc, names[DEVICES_TABLE.id]!),
  };
}

/**
 * An in-memory IoT control plane: records every request (command name + input) and answers
 * like IoT, with ResourceAlreadyExists for a thing created twice with other attributes. It can
 * be told to fail the n-th request once, to interrupt a bulk run.
 */
class FakeIot implements IotSender {
  readonly requests: Array<{ command: string; input: Record<string, unknown> }> = [];
  private readonly things = new Map<string, string>();
  private certificates = 0;
  failAt?: number;

  async send(command: IotCommand): Promise<unknown> {
    const name = command.constructor.name;
    const input = command.input as Record<string, unknown>;
    this.requests.push({ command: name, input });
    if (this.failAt === this.requests.length) {
      this.failAt = undefined;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
    switch (name) {
      case 'CreateThingCommand': {
        const thingName = input.thingName as string;
        const attributes = JSON.stringify(input.attributePayload);
        if (this.things.has(thingName) && this.things.get(thingName) !== attributes) {
          throw Object.assign(new Error('exists'), { name: 'ResourceAlreadyExistsException' });
        }
        this.things.set(thingName, attributes);
        return { thingName, thingArn: `arn:aws:iot:us-east-1:123456789012:thing/${thingName}` };
      }
      case 'CreateKeysAndCertificateCommand': {
        this.certificates += 1;
        const id = String(this.certificates).padStart(64, 'c');
        return {
          certificateId: id,
          certificateArn: `arn:aws:iot:us-east-1:123456789012:cert/${id}`,
          certificatePem: `CERT ${this.certificates}`,
          keyPair: { PrivateKey: `KEY ${this.certificates}`, PublicKey: 'PUB' },
        };
      }
      case 'CreateCertificateFromCsrCommand': {
        this.certificates += 1;
        const id = String(this.certificates).padStart(64, 'c');
        return { certificateId: id, certificateArn: `arn:aws:iot:us-east-1:123456789012:cert/${id}`, certificatePem: `CERT ${this.certificates}` };
      }
      case 'DescribeEndpointCommand':
        return { endpointAddress: 'abc123-ats.iot.us-east-1.amazonaws.com' };
      default:
        return {};
    }
  }

  commands(): string[] {
    return this.requests.map((r) => r.command);
  }
}

describe('provisionAwsDevices', () => {
  let dir: string;
  let iot: FakeIot;
  let registry: DeviceRegistry;
  let credentials: DynamoDbDeviceCredentialStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aws-prov-'));
    iot = new FakeIot();
    ({ registry, credentials } = await freshStores());
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const options = () => ({
    iot,
    registry,
    credentials,
    policyName: 'IotPlatform-DevicePolicy-ABC',
    stateFile: join(dir, 'state.json'),
    rootCa: async () => 'AMAZON ROOT CA',
  });
  const devices = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `pump-${i + 1}`, type: 'pump', dir: join(dir, `pump-${i + 1}`) }));

  it('sends exactly CreateThing, CreateKeysAndCertificate, AttachPolicy, AttachThingPrincipal and writes the bundle and registry record', async () => {
    // Act
    const summary = await provisionAwsDevices(options(), devices(1));

    // Assess
    expect(summary).toMatchObject({ created: 1, failed: 0 });
    const manifest = JSON.parse(await readFile(join(dir, 'pump-1', 'device.json'), 'utf8')) as DeviceManifest;
    const thingName = manifest.thingName;
    const certArn = `arn:aws:iot:us-east-1:123456789012:cert/${'1'.padStart(64, 'c')}`;
    expect(iot.requests).toEqual([
      { command: 'CreateThingCommand', input: { thingName, attributePayload: { attributes: { deviceType: 'pump' } } } },
      { command: 'CreateKeysAndCertificateCommand', input: { setAsActive: true } },
      { command: 'AttachPolicyCommand', input: { policyName: 'IotPlatform-DevicePolicy-ABC', target: certArn } },
      { command: 'AttachThingPrincipalCommand', input: { thingName, principal: certArn } },
      { command: 'DescribeEndpointCommand', input: { endpointType: 'iot:Data-ATS' } },
    ]);
    expect(manifest).toMatchObject({ target: 'aws', endpoint: 'abc123-ats.iot.us-east-1.amazonaws.com', port: 8883, name: 'pump-1' });
    expect(manifest.topics.telemetry).toBe(`$aws/rules/iot_platform_telemetry/dt/iot/${thingName}/telemetry`);
    expect(await readFile(join(dir, 'pump-1', 'device.key'), 'utf8')).toBe('KEY 1');
    expect((await stat(join(dir, 'pump-1', 'device.key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'pump-1', 'ca.crt'), 'utf8')).toBe('AMAZON ROOT CA');
    const device = await registry.get(thingName);
    expect(device.metadata).toEqual({});
    expect(await credentials.get(thingName)).toMatchObject({ certificateId: '1'.padStart(64, 'c'), status: 'ACTIVE' });
  });

  it('signs a device-made CSR with exactly CreateCertificateFromCsr, writes no key, and sends nothing for a weak CSR', async () => {
    // Prepare: the keys are made here, as a device would; provisioning only ever reads the CSRs
    const csr = (stem: string, newKey: string[]) => {
      const file = join(dir, `${stem}.csr`);
      execFileSync('openssl', ['req', '-new', '-nodes', ...newKey, '-keyout', join(dir, `${stem}.key`), '-out', file, '-subj', '/CN=x'], { stdio: 'pipe' });
      return file;
    };
    const good = csr('good', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']);
    const weak = csr('weak', ['-newkey', 'rsa:1024']);

    // Act
    const summary = await provisionAwsDevices(options(), [
      { name: 'meter-1', type: 'meter', dir: join(dir, 'meter-1'), csrFile: good },
      { name: 'meter-2', type: 'meter', dir: join(dir, 'meter-2'), csrFile: weak },
    ]);

    // Assess
    expect(summary).toMatchObject({ created: 1, failed: 1 });
    expect(summary.results[1]).toMatchObject({ name: 'meter-2', status: 'failed', error: expect.stringMatching(/ValidationError: .*RSA key of 1024 bits is too weak/) });
    const manifest = JSON.parse(await readFile(join(dir, 'meter-1', 'device.json'), 'utf8')) as DeviceManifest;
    const thingName = manifest.thingName;
    const certArn = `arn:aws:iot:us-east-1:123456789012:cert/${'1'.padStart(64, 'c')}`;
    expect(iot.requests).toEqual([
      { command: 'CreateThingCommand', input: { thingName, attributePayload: { attributes: { deviceType: 'meter' } } } },
      { command: 'CreateCertificateFromCsrCommand', input: { certificateSigningRequest: await readFile(good, 'utf8'), setAsActive: true } },
      { command: 'AttachPolicyCommand', input: { policyName: 'IotPlatform-DevicePolicy-ABC', target: certArn } },
      { command: 'AttachThingPrincipalCommand', input: { thingName, principal: certArn } },
      { command: 'DescribeEndpointCommand', input: { endpointType: 'iot:Data-ATS' } },
    ]);
    expect(await readFile(join(dir, 'meter-1', 'device.crt'), 'utf8')).toBe('CERT 1');
    await expect(stat(join(dir, 'meter-1', 'device.key'))).rejects.toThrow();
    await expect(stat(join(dir, 'meter-2'))).rejects.toThrow();
    expect(manifest).toMatchObject({ target: 'aws', endpoint: 'abc123-ats.iot.us-east-1.amazonaws.com', name: 'meter-1' });
    expect(await credentials.get(thingName)).toMatchObject({ certificateId: '1'.padStart(64, 'c'), status: 'ACTIVE' });
    expect((await registry.list({ limit: 10 })).items.map((d) => d.name)).toEqual(['meter-1']);
  });

  it('resumes an interrupted bulk run without a second certificate for any device', async () => {
    // Prepare: the 8th request (device 2's AttachPolicy) is throttled
    iot.failAt = 8;

    // Act
    const first = await provisionAwsDevices(options(), devices(3));
    const second = await provisionAwsDevices(options(), devices(3));
    const third = await provisionAwsDevices(options(), devices(3));

    // Assess
    expect(first).toMatchObject({ created: 2, failed: 1 });
    expect(first.results[1]).toMatchObject({ name: 'pump-2', status: 'failed', error: 'ThrottlingException: Rate exceeded' });
    expect(second).toMatchObject({ created: 0, resumed: 1, unchanged: 2, failed: 0 });
    expect(third).toMatchObject({ unchanged: 3, failed: 0 });
    expect(iot.commands().filter((c) => c === 'CreateKeysAndCertificateCommand')).toHaveLength(3);
    expect(iot.commands().filter((c) => c === 'AttachThingPrincipalCommand')).toHaveLength(3);
    const listed = await registry.list({ limit: 10 });
    expect(listed.items.map((d) => d.name).sort()).toEqual(['pump-1', 'pump-2', 'pump-3']);
  });

  it('reports a corrupt state file instead of starting over', async () => {
    // Prepare
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'state.json'), '{not json');

    // Act / Assess
    await expect(provisionAwsDevices(options(), devices(1))).rejects.toThrow(/Cannot read provisioning state/);
    expect(iot.requests).toEqual([]);
  });
});

describe('revokeAwsDevice', () => {
  it('sets the bound certificate INACTIVE (not one named in metadata) and marks the binding REVOKED', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'aws-revoke-'));
    const iot = new FakeIot();
    const { registry, credentials } = await freshStores();
    await provisionAwsDevices(
      { iot, registry, credentials, policyName: 'p', stateFile: join(dir, 's.json'), rootCa: async () => 'CA' },
      [{ name: 'valve', type: 'valve', dir: join(dir, 'valve') }],
    );
    const thingName = (JSON.parse(await readFile(join(dir, 'valve', 'device.json'), 'utf8')) as DeviceManifest).thingName;
    iot.requests.length = 0;

    // Act
    await registry.update({ id: thingName, metadata: { 'iot:certificateId': 'f'.repeat(64) } });
    const revoked = await revokeAwsDevice({ iot, credentials }, thingName);

    // Assess
    expect(iot.requests).toEqual([{ command: 'UpdateCertificateCommand', input: { certificateId: '1'.padStart(64, 'c'), newStatus: 'INACTIVE' } }]);
    expect(revoked).toEqual({ deleted: false, binding: expect.objectContaining({ certificateId: '1'.padStart(64, 'c'), status: 'REVOKED' }) });
    expect(await credentials.get(thingName)).toEqual(revoked.deleted ? undefined : revoked.binding);
    await rm(dir, { recursive: true, force: true });
  });

  it('on a device already deleted revokes and detaches the certificates of its thing, as exact control-plane requests', async () => {
    // Prepare
    const { credentials } = await freshStores();
    const thingName = '22222222-3333-4444-8555-666666666666';
    const certificateId = 'd'.repeat(64);
    const arn = `arn:aws:iot:us-east-1:123456789012:cert/${certificateId}`;
    const requests: Array<{ command: string; input: unknown }> = [];
    const iot: IotSender = {
      async send(command) {
        const name = command.constructor.name;
        requests.push({ command: name, input: command.input });
        if (name === 'ListThingPrincipalsCommand') return { principals: [arn] };
        if (name === 'DescribeCertificateCommand') return { certificateDescription: { certificateArn: arn, status: 'ACTIVE' } };
        if (name === 'ListAttachedPoliciesCommand') return { policies: [{ policyName: 'DevicePolicy' }] };
        return {};
      },
    };

    // Act
    const outcome = await revokeAwsDevice({ iot, credentials }, thingName);

    // Assess
    expect(outcome).toEqual({ deleted: true, retiredCertificateIds: [certificateId] });
    expect(requests).toEqual([
      { command: 'ListThingPrincipalsCommand', input: { thingName } },
      { command: 'DescribeCertificateCommand', input: { certificateId } },
      { command: 'UpdateCertificateCommand', input: { certificateId, newStatus: 'REVOKED' } },
      { command: 'ListAttachedPoliciesCommand', input: { target: arn } },
      { command: 'DetachPolicyCommand', input: { policyName: 'DevicePolicy', target: arn } },
      { command: 'DetachThingPrincipalCommand', input: { thingName, principal: arn } },
    ]);
  });

  it('on a device whose thing is gone too has nothing left to revoke', async () => {
    // Prepare
    const { credentials } = await freshStores();
    const iot: IotSender = {
      async send() {
        throw Object.assign(new Error('no such thing'), { name: 'ResourceNotFoundException' });
      },
    };

    // Act
    const outcome = await revokeAwsDevice({ iot, credentials }, '22222222-3333-4444-8555-777777777777');

    // Assess
    expect(outcome).toEqual({ deleted: true, retiredCertificateIds: [] });
  });
});
