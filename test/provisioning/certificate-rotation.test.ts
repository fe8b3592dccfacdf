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
import { revokeAwsDevice, type IotCommand, type IotSender } from '../../src/provisioning/aws-provisioner.js';
import { parseCertificateRequest } from '../../src/provisioning/certificate-request.js';
import { finishAwsRotation, rotateAwsDevice } from '../../src/provisioning/certificate-rotation.js';
import type { DeviceManifest } from '../../src/provisioning/device-bundle.js';
import { useLocalDynamo } from '../support/local-dynamo.js';

const dynamo = useLocalDynamo();
let tablesMade = 0;

const POLICY = 'IotPlatform-DevicePolicy-ABC';
const arnOf = (certificateId: string) => `arn:aws:iot:us-east-1:123456789012:cert/${certificateId}`;
const OLD = 'a'.repeat(64);

/**
 * An in-memory IoT control plane that keeps certificates (status, policies, things) as IoT
 * does and records every request (command name + input); it can throttle one command once.
 */
class FakeIot implements IotSender {
  readonly requests: Array<{ command: string; input: Record<string, unknown> }> = [];
  readonly certificates = new Map<string, { status: string; policies: Set<string>; things: Set<string> }>();
  private made = 0;
  throttleOnce?: string;

  async send(command: IotCommand): Promise<unknown> {
    const name = command.constructor.name;
    const input = command.input as Record<string, unknown>;
    this.requests.push({ command: name, input });
    if (this.throttleOnce === name) {
      this.throttleOnce = undefined;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    }
    const byArn = (arn: unknown) => this.certificates.get(String(arn).split('/').pop()!);
    switch (name) {
      case 'DescribeEndpointCommand':
        return { endpointAddress: 'abc123-ats.iot.us-east-1.amazonaws.com' };
      case 'CreateKeysAndCertificateCommand':
      case 'CreateCertificateFromCsrCommand': {
        this.made += 1;
        const id = String(this.made).padStart(64, 'c');
        this.certificates.set(id, { status: input.setAsActive ? 'ACTIVE' : 'INACTIVE', policies: new Set(), things: new Set() });
        return {
          certificateId: id,
          certificateArn: arnOf(id),
          certificatePem: `CERT ${this.made}`,
          ...(name === 'CreateKeysAndCertificateCommand' && { keyPair: { PrivateKey: `KEY ${this.made}`, PublicKey: 'PUB' } }),
        };
      }
      case 'AttachPolicyCommand':
        byArn(input.target)!.policies.add(String(input.policyName));
        return {};
      case 'AttachThingPrincipalCommand':
        byArn(input.principal)!.things.add(String(input.thingName));
        return {};
      case 'DescribeCertificateCommand': {
        const certificate = this.certificates.get(String(input.certificateId));
        if (!certificate) throw Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' });
        return { certificateDescription: { certificateArn: arnOf(String(input.certificateId)), status: certificate.status } };
      }
      case 'UpdateCertificateCommand':
        this.certificates.get(String(input.certificateId))!.status = String(input.newStatus);
        return {};
      case 'ListAttachedPoliciesCommand':
        return { policies: [...byArn(input.target)!.policies].map((policyName) => ({ policyName })) };
      case 'DetachPolicyCommand':
        byArn(input.target)!.policies.delete(String(input.policyName));
        return {};
      case 'DetachThingPrincipalCommand':
        byArn(input.principal)!.things.delete(String(input.thingName));
        return {};
      default:
        throw new Error(`unexpected ${name}`);
    }
  }
}

describe('certificate rotation in AWS IoT Core', () => {
  let dir: string;
  let iot: FakeIot;
  let registry: DeviceRegistry;
  let credentials: DynamoDbDeviceCredentialStore;
  let id: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aws-rotate-'));
    tablesMade += 1;
    const names = localTableNames(`aws-rotate-${tablesMade}-`);
    await ensureTables(dynamo.endpoint, names, [DEVICES_TABLE, STATS_TABLE]);
    registry = new DeviceRegistry({
      repository: new DynamoDbDeviceRepository(dynamo.doc, names[DEVICES_TABLE.id]!),
      stats: new DynamoDbStatsStore(dynamo.doc, names[STATS_TABLE.id]!),
      pageTokens: createPageTokenCodec('s'.repeat(32)),
    });
    credentials = new DynamoDbDeviceCredentialStore(dynamo.doc, names[DEVICES_TABLE.id]!);
    iot = new FakeIot();
    // A device provisioned earlier: its certificate active, with the policy, on its thing.
    id = (await registry.create({ name: 'pump', type: 'pump' })).id;
    await credentials.bind(id, OLD);
    iot.certificates.set(OLD, { status: 'ACTIVE', policies: new Set([POLICY]), things: new Set([id]) });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const deps = () => ({ iot, registry, credentials, policyName: POLICY, rootCa: async () => 'AMAZON ROOT CA' });
  const NEW = '1'.padStart(64, 'c');

  it('rotates with exactly DescribeEndpoint, CreateKeysAndCertificate, AttachPolicy, AttachThingPrincipal; finishes with UpdateCertificate REVOKED, DetachPolicy, DetachThingPrincipal of the old one only', async () => {
    // Act
    const started = await rotateAwsDevice(deps(), id, join(dir, 'new'), { graceMs: 3_600_000 });

    // Assess: both certificates usable, the new bundle on disk with its key
    expect(iot.requests).toEqual([
      { command: 'DescribeEndpointCommand', input: { endpointType: 'iot:Data-ATS' } },
      { command: 'CreateKeysAndCertificateCommand', input: { setAsActive: true } },
      { command: 'AttachPolicyCommand', input: { policyName: POLICY, target: arnOf(NEW) } },
      { command: 'AttachThingPrincipalCommand', input: { thingName: id, principal: arnOf(NEW) } },
    ]);
    expect(started).toMatchObject({ previousCertificateId: OLD, binding: { certificateId: OLD, pendingCertificateId: NEW, status: 'ACTIVE' } });
    expect(Date.parse(started.binding.graceEndsAt!) - Date.parse(started.binding.rotationStartedAt!)).toBeGreaterThan(3_500_000);
    expect(await readFile(join(dir, 'new', 'device.key'), 'utf8')).toBe('KEY 1');
    expect((await stat(join(dir, 'new', 'device.key'))).mode & 0o777).toBe(0o600);
    const manifest = JSON.parse(await readFile(join(dir, 'new', 'device.json'), 'utf8')) as DeviceManifest;
    expect(manifest).toMatchObject({ thingName: id, name: 'pump', type: 'pump', target: 'aws', certificateId: NEW, endpoint: 'abc123-ats.iot.us-east-1.amazonaws.com' });
    expect(iot.certificates.get(OLD)).toEqual({ status: 'ACTIVE', policies: new Set([POLICY]), things: new Set([id]) });
    expect(iot.certificates.get(NEW)).toEqual({ status: 'ACTIVE', policies: new Set([POLICY]), things: new Set([id]) });

    // Act
    iot.requests.length = 0;
    const finished = await finishAwsRotation({ iot, credentials }, id);

    // Assess
    expect(iot.requests).toEqual([
      { command: 'DescribeCertificateCommand', input: { certificateId: OLD } },
      { command: 'UpdateCertificateCommand', input: { certificateId: OLD, newStatus: 'REVOKED' } },
      { command: 'ListAttachedPoliciesCommand', input: { target: arnOf(OLD) } },
      { command: 'DetachPolicyCommand', input: { policyName: POLICY, target: arnOf(OLD) } },
      { command: 'DetachThingPrincipalCommand', input: { thingName: id, principal: arnOf(OLD) } },
    ]);
    expect(finished).toMatchObject({ retiredCertificateId: OLD, binding: { certificateId: NEW, status: 'ACTIVE' } });
    expect(finished.binding).not.toHaveProperty('pendingCertificateId');
    expect(iot.certificates.get(OLD)).toEqual({ status: 'REVOKED', policies: new Set(), things: new Set() });
    expect(iot.certificates.get(NEW)).toEqual({ status: 'ACTIVE', policies: new Set([POLICY]), things: new Set([id]) });
  });

  it('rotates a device-made CSR with exactly CreateCertificateFromCsr and writes no key', async () => {
    // Prepare: the device's key is made here and never given to the rotation
    const csrFile = join(dir, 'device.csr');
    execFileSync('openssl', ['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', join(dir, 'device.key'), '-out', csrFile, '-subj', '/CN=x'], { stdio: 'pipe' });
    const csr = await parseCertificateRequest(await readFile(csrFile, 'utf8'));

    // Act
    const started = await rotateAwsDevice(deps(), id, join(dir, 'new'), { csr });

    // Assess
    expect(iot.requests.map((r) => r.command)).toEqual(['DescribeEndpointCommand', 'CreateCertificateFromCsrCommand', 'AttachPolicyCommand', 'AttachThingPrincipalCommand']);
    expect(iot.requests[1]!.input).toEqual({ certificateSigningRequest: csr.pem, setAsActive: true });
    expect(started.bundle.privateKeyPem).toBeUndefined();
    await expect(stat(join(dir, 'new', 'device.key'))).rejects.toThrow();
    expect(await readFile(join(dir, 'new', 'device.crt'), 'utf8')).toBe('CERT 1');
  });

  it('two concurrent rotations leave one pending certificate: the loser revokes and detaches its own and removes its bundle', async () => {
    // Act
    const outcomes = await Promise.allSettled([rotateAwsDevice(deps(), id, join(dir, 'a')), rotateAwsDevice(deps(), id, join(dir, 'b'))]);

    // Assess
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const lost = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ reason: o.reason as Error & { code?: string }, dir: join(dir, i === 0 ? 'a' : 'b') }] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('already pending') });
    const winner = won[0]!.binding.pendingCertificateId!;
    const loser = [...iot.certificates.keys()].find((c) => c !== OLD && c !== winner)!;
    expect(iot.certificates.get(loser)).toEqual({ status: 'REVOKED', policies: new Set(), things: new Set() });
    expect(iot.certificates.get(winner)).toMatchObject({ status: 'ACTIVE' });
    expect(iot.certificates.get(OLD)).toMatchObject({ status: 'ACTIVE' });
    await expect(stat(join(lost[0]!.dir, 'device.crt'))).rejects.toThrow();
    expect(await credentials.get(id)).toMatchObject({ certificateId: OLD, pendingCertificateId: winner });
  });

  it('refuses before any control-plane request: unknown device, rotation already pending, finish with nothing pending, bad grace', async () => {
    // Act / Assess
    await expect(finishAwsRotation({ iot, credentials }, id)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('no rotation is pending') });
    await expect(rotateAwsDevice(deps(), '00000000-0000-4000-8000-000000000000', join(dir, 'x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(finishAwsRotation({ iot, credentials }, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rotateAwsDevice(deps(), 'not-a-uuid', join(dir, 'x'))).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(rotateAwsDevice(deps(), id, join(dir, 'x'), { graceMs: 10 })).rejects.toMatchObject({ code: 'VALIDATION', field: 'grace' });
    expect(iot.requests).toEqual([]);
    await rotateAwsDevice(deps(), id, join(dir, 'first'));
    iot.requests.length = 0;
    await expect(rotateAwsDevice(deps(), id, join(dir, 'second'))).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('finish it first') });
    expect(iot.requests).toEqual([]);
  });

  it('a finish interrupted by throttling keeps both certificates admitted in the binding and completes when run again', async () => {
    // Prepare
    await rotateAwsDevice(deps(), id, join(dir, 'new'));
    iot.throttleOnce = 'DetachPolicyCommand';

    // Act
    const interrupted = finishAwsRotation({ iot, credentials }, id);

    // Assess
    await expect(interrupted).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(await credentials.get(id)).toMatchObject({ certificateId: OLD, pendingCertificateId: NEW });
    const finished = await finishAwsRotation({ iot, credentials }, id);
    expect(finished.binding).toMatchObject({ certificateId: NEW });
    expect(iot.certificates.get(OLD)).toEqual({ status: 'REVOKED', policies: new Set(), things: new Set() });
    expect(iot.certificates.get(NEW)).toMatchObject({ status: 'ACTIVE' });
  });

  it('revoking a device mid-rotation deactivates both of its certificates', async () => {
    // Prepare
    await rotateAwsDevice(deps(), id, join(dir, 'new'));
    iot.requests.length = 0;

    // Act
    await revokeAwsDevice({ iot, credentials }, id);

    // Assess
    expect(iot.requests).toEqual([
      { command: 'UpdateCertificateCommand', input: { certificateId: OLD, newStatus: 'INACTIVE' } },
      { command: 'UpdateCertificateCommand', input: { certificateId: NEW, newStatus: 'INACTIVE' } },
    ]);
  });
});
