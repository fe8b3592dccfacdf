import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbDeviceCredentialStore } from '../../src/adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbDueRotations } from '../../src/adapters/dynamodb/due-rotations.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import type { RetirementCommand, RetirementSender } from '../../src/adapters/iot/iot-credential-retirer.js';
import { ROTATION_SWEEP_METRICS } from '../../src/contracts/metrics.js';
import { DEVICES_TABLE, STATS_TABLE } from '../../src/contracts/tables.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import { composeRotationSweepFunction, RotationSweepFailure } from '../../src/functions/rotation-sweep-function.js';
import { ensureTables, localTableNames } from '../../src/local/dynamodb/dynalite.js';
import type { LogFields, Logger } from '../../src/ports/logger.js';
import { finishAwsRotation, finishLocalRotation } from '../../src/provisioning/rotation-finish.js';
import { useLocalDynamo } from '../support/local-dynamo.js';

const dynamo = useLocalDynamo();
let tablesMade = 0;

const POLICY = 'IotPlatform-DevicePolicy-ABC';
const arnOf = (certificateId: string) => `arn:aws:iot:us-east-1:123456789012:cert/${certificateId}`;
const certificate = (n: number, digit: string) => String(n).padStart(64, digit);
const MINUTE = 60_000;

/**
 * The part of the IoT control plane a finish talks to: it keeps each certificate's status,
 * policies and things as IoT does, records every request, and refuses every request about the
 * certificates listed in `refuse` (as IoT does to a role without the permission).
 */
class RecordingIot implements RetirementSender {
  readonly requests: Array<{ command: string; input: Record<string, unknown> }> = [];
  readonly certificates = new Map<string, { status: string; policies: Set<string>; things: Set<string> }>();
  readonly refuse = new Set<string>();

  async send(command: RetirementCommand): Promise<unknown> {
    const name = command.constructor.name;
    const input = command.input as unknown as Record<string, unknown>;
    this.requests.push({ command: name, input });
    const id = String(input.certificateId ?? input.target ?? input.principal).split('/').pop()!;
    if (this.refuse.has(id)) throw Object.assign(new Error(`not authorized to act on certificate ${id}`), { name: 'AccessDeniedException' });
    const held = this.certificates.get(id);
    if (!held) throw Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' });
    switch (name) {
      case 'DescribeCertificateCommand':
        return { certificateDescription: { certificateArn: arnOf(id), status: held.status } };
      case 'UpdateCertificateCommand':
        held.status = String(input.newStatus);
        return {};
      case 'ListAttachedPoliciesCommand':
        return { policies: [...held.policies].map((policyName) => ({ policyName })) };
      case 'DetachPolicyCommand':
        held.policies.delete(String(input.policyName));
        return {};
      case 'DetachThingPrincipalCommand':
        held.things.delete(String(input.thingName));
        return {};
      default:
        throw new Error(`unexpected ${name}`);
    }
  }

  /** The requests about one certificate, in order. */
  about(certificateId: string): Array<{ command: string; input: Record<string, unknown> }> {
    return this.requests.filter((r) => [r.input.certificateId, r.input.target, r.input.principal].some((v) => v === certificateId || v === arnOf(certificateId)));
  }
}

/** A logger that keeps its lines. */
function keptLogger(): Logger & { lines: Array<{ level: string; message: string; fields: LogFields }> } {
  const lines: Array<{ level: string; message: string; fields: LogFields }> = [];
  const at = (level: string) => (message: string, ...fields: LogFields[]) => void lines.push({ level, message, fields: Object.assign({}, ...fields) as LogFields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('certificate rotation sweep', () => {
  let now: Date;
  let registry: DeviceRegistry;
  let credentials: DynamoDbDeviceCredentialStore;
  let due: DynamoDbDueRotations;
  let iot: RecordingIot;
  let made: number;

  beforeEach(async () => {
    tablesMade += 1;
    const names = localTableNames(`rotation-sweep-${tablesMade}-`);
    await ensureTables(dynamo.endpoint, names, [DEVICES_TABLE, STATS_TABLE]);
    registry = new DeviceRegistry({
      repository: new DynamoDbDeviceRepository(dynamo.doc, names[DEVICES_TABLE.id]!),
      stats: new DynamoDbStatsStore(dynamo.doc, names[STATS_TABLE.id]!),
      pageTokens: createPageTokenCodec('s'.repeat(32)),
    });
    now = new Date('2026-03-01T12:00:00.000Z');
    credentials = new DynamoDbDeviceCredentialStore(dynamo.doc, names[DEVICES_TABLE.id]!, { clock: () => now });
    due = new DynamoDbDueRotations(dynamo.doc, names[DEVICES_TABLE.id]!);
    iot = new RecordingIot();
    made = 0;
  });

  /** A device provisioned with an old certificate (active, with the policy, on its thing) whose rotation to a new one began `startedAgo` ms before now with `graceMs`. */
  async function rotating(graceMs: number, startedAgo = 0): Promise<{ id: string; old: string; next: string }> {
    made += 1;
    const id = (await registry.create({ name: `pump ${made}`, type: 'pump' })).id;
    const old = certificate(made, 'a');
    const next = certificate(made, 'b');
    await credentials.bind(id, old);
    const at = now;
    now = new Date(at.getTime() - startedAgo);
    await credentials.beginRotation(id, next, graceMs);
    now = at;
    for (const c of [old, next]) iot.certificates.set(c, { status: 'ACTIVE', policies: new Set([POLICY]), things: new Set([id]) });
    return { id, old, next };
  }

  async function dueIds(pageSize: number): Promise<string[][]> {
    const pages: string[][] = [];
    for await (const page of due.pages(now, pageSize)) pages.push([...page]);
    return pages;
  }

  it('lists only the rotations whose grace has ended, earliest first, page by page, and none finished, revoked or deleted', async () => {
    // Prepare: five due (grace ended 5..1 minutes ago), two not yet due, one finished, one revoked, one deleted
    const dueNow = [];
    for (let ago = 5; ago >= 1; ago -= 1) dueNow.push(await rotating(MINUTE, (ago + 1) * MINUTE));
    await rotating(10 * MINUTE, MINUTE);
    await rotating(MINUTE, MINUTE - 1);
    const finished = await rotating(MINUTE, 2 * MINUTE);
    await credentials.finishRotation(finished.id, finished.next);
    const revoked = await rotating(MINUTE, 2 * MINUTE);
    await credentials.revoke(revoked.id);
    const deleted = await rotating(MINUTE, 2 * MINUTE);
    await registry.delete(deleted.id);
    const endsExactlyNow = await rotating(MINUTE, MINUTE);

    // Act
    const pages = await dueIds(2);

    // Assess
    expect(pages).toEqual([
      [dueNow[0]!.id, dueNow[1]!.id],
      [dueNow[2]!.id, dueNow[3]!.id],
      [dueNow[4]!.id, endsExactlyNow.id],
    ]);
    expect(await dueIds(100)).toEqual([[...dueNow.map((d) => d.id), endsExactlyNow.id]]);
  });

  it('finishes every due rotation in AWS with exactly the requests of rotate --finish, counts them, and leaves the others alone', async () => {
    // Prepare
    const dueNow = [await rotating(MINUTE, 3 * MINUTE), await rotating(MINUTE, 2 * MINUTE), await rotating(MINUTE, 4 * MINUTE)];
    const later = await rotating(10 * MINUTE);
    const counted: Array<[string, number]> = [];
    const sweep = composeRotationSweepFunction({
      due,
      finish: (id, options) => finishAwsRotation({ iot, credentials }, id, options),
      logger: keptLogger(),
      metrics: { count: (name, value) => void counted.push([name, value]), flush: () => undefined },
      pageSize: 2,
      clock: () => now,
    });

    // Act
    const summary = await sweep();

    // Assess
    expect(summary).toEqual({ due: 3, finished: 3, skipped: 0, failed: 0 });
    expect(counted).toEqual([
      [ROTATION_SWEEP_METRICS.finished, 3],
      [ROTATION_SWEEP_METRICS.failed, 0],
    ]);
    for (const { id, old, next } of dueNow) {
      expect(iot.about(old)).toEqual([
        { command: 'DescribeCertificateCommand', input: { certificateId: old } },
        { command: 'UpdateCertificateCommand', input: { certificateId: old, newStatus: 'REVOKED' } },
        { command: 'ListAttachedPoliciesCommand', input: { target: arnOf(old) } },
        { command: 'DetachPolicyCommand', input: { policyName: POLICY, target: arnOf(old) } },
        { command: 'DetachThingPrincipalCommand', input: { thingName: id, principal: arnOf(old) } },
      ]);
      expect(iot.about(next)).toEqual([]);
      expect(iot.certificates.get(old)).toEqual({ status: 'REVOKED', policies: new Set(), things: new Set() });
      const binding = await credentials.get(id);
      expect(binding).toMatchObject({ certificateId: next, status: 'ACTIVE' });
      expect(binding).not.toHaveProperty('pendingCertificateId');
    }
    expect(iot.requests).toHaveLength(15);
    expect(await credentials.get(later.id)).toMatchObject({ certificateId: later.old, pendingCertificateId: later.next });
    expect(iot.about(later.old)).toEqual([]);

    // Act: the next run finds nothing due
    iot.requests.length = 0;
    expect(await sweep()).toEqual({ due: 0, finished: 0, skipped: 0, failed: 0 });
    expect(iot.requests).toEqual([]);
  });

  it('a device that fails does not stop the others: it is logged, counted, left pending, and the run reports it at its end', async () => {
    // Prepare: the failing one is due first, and one finish runs at a time
    const failing = await rotating(MINUTE, 5 * MINUTE);
    const others = [await rotating(MINUTE, 3 * MINUTE), await rotating(MINUTE, 2 * MINUTE)];
    iot.refuse.add(failing.old);
    const logger = keptLogger();
    const counted: Array<[string, number]> = [];
    const sweep = composeRotationSweepFunction({
      due,
      finish: (id, options) => finishAwsRotation({ iot, credentials }, id, options),
      logger,
      metrics: { count: (name, value) => void counted.push([name, value]), flush: () => undefined },
      concurrency: 1,
      clock: () => now,
    });

    // Act
    const run = sweep();

    // Assess
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RotationSweepFailure);
    expect((error as RotationSweepFailure).summary).toEqual({ due: 3, finished: 2, skipped: 0, failed: 1 });
    expect(counted).toEqual([
      [ROTATION_SWEEP_METRICS.finished, 2],
      [ROTATION_SWEEP_METRICS.failed, 1],
    ]);
    for (const { id, next } of others) expect(await credentials.get(id)).toMatchObject({ certificateId: next });
    expect(await credentials.get(failing.id)).toMatchObject({ certificateId: failing.old, pendingCertificateId: failing.next });
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([
      { level: 'error', message: 'Rotation finish failed', fields: { deviceId: failing.id, error: expect.objectContaining({ name: 'AccessDeniedException' }) } },
    ]);

    // Act: once allowed, the next run finishes it
    iot.refuse.clear();
    expect(await sweep()).toEqual({ due: 1, finished: 1, skipped: 0, failed: 0 });
    expect(await credentials.get(failing.id)).toMatchObject({ certificateId: failing.next });
  });

  it('skips, with no control-plane request, an entry whose rotation is no longer due: finished meanwhile, or begun again with a grace not over', async () => {
    // Prepare: an index that still lists two devices (as an eventually consistent index may)
    const finishedMeanwhile = await rotating(MINUTE, 2 * MINUTE);
    await credentials.finishRotation(finishedMeanwhile.id, finishedMeanwhile.next);
    const begunAgain = await rotating(MINUTE, 2 * MINUTE);
    await credentials.finishRotation(begunAgain.id, begunAgain.next);
    await credentials.beginRotation(begunAgain.id, certificate(99, 'c'), 10 * MINUTE);
    iot.requests.length = 0;
    const stale = {
      pages: async function* () {
        yield [finishedMeanwhile.id, begunAgain.id];
      },
    };
    const logger = keptLogger();
    const sweep = composeRotationSweepFunction({ due: stale, finish: (id, options) => finishAwsRotation({ iot, credentials }, id, options), logger, metrics: { count: () => undefined, flush: () => undefined }, clock: () => now });

    // Act
    const summary = await sweep();

    // Assess
    expect(summary).toEqual({ due: 2, finished: 0, skipped: 2, failed: 0 });
    expect(iot.requests).toEqual([]);
    expect(await credentials.get(begunAgain.id)).toMatchObject({ certificateId: begunAgain.next, pendingCertificateId: certificate(99, 'c') });
    expect(logger.lines.filter((l) => l.message === 'Rotation no longer due; skipped').map((l) => l.fields.reason)).toEqual([
      expect.stringContaining('no rotation is pending'),
      expect.stringContaining('is not due: its grace period ends at'),
    ]);
  });

  it('finishes locally through the local finish: the binding converges, nothing is asked of IoT', async () => {
    // Prepare
    const dueNow = await rotating(MINUTE, 2 * MINUTE);
    const sweep = composeRotationSweepFunction({ due, finish: (id, options) => finishLocalRotation(credentials, id, options), logger: keptLogger(), metrics: { count: () => undefined, flush: () => undefined }, clock: () => now });

    // Act
    const summary = await sweep();

    // Assess
    expect(summary).toEqual({ due: 1, finished: 1, skipped: 0, failed: 0 });
    expect(await credentials.get(dueNow.id)).toMatchObject({ certificateId: dueNow.next, status: 'ACTIVE' });
    expect(iot.requests).toEqual([]);
  });
});
