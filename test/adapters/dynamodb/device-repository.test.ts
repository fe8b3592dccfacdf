import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceRepository } from '../../../src/adapters/dynamodb/device-repository.js';
import { InMemoryStats } from '../../../src/adapters/memory/in-memory-stats.js';
import { DeviceRegistry } from '../../../src/domain/device-registry.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../../../src/domain/errors.js';
import { createPageTokenCodec } from '../../../src/domain/page-token.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../src/local/dynamodb/dynalite.js';
import { allDeviceIds, startAnswerRewriter, startDynamoFixture, type DynamoFixture } from './dynamo-fixture.js';

const SECRET = 'repository-test-secret-0123456789';

describe('DynamoDbDeviceRepository on dynalite', () => {
  let fixture: DynamoFixture;
  let counter = 0;

  beforeAll(async () => {
    fixture = await startDynamoFixture();
  });
  afterAll(async () => {
    await fixture.stop();
  });

  /** A registry whose clock starts in its own time window and advances 1 ms per call, so order is known. */
  const registryOn = (repository = new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable)) => {
    const start = Date.UTC(2026, 0, 1) + counter++ * 10_000_000;
    let tick = 0;
    return new DeviceRegistry({
      repository,
      stats: new InMemoryStats(),
      pageTokens: createPageTokenCodec(SECRET),
      clock: () => new Date(start + tick++),
    });
  };

  it('creates, gets, updates and deletes a device', async () => {
    // Prepare
    const registry = registryOn();

    // Act
    const created = await registry.create({ name: 'Pump 1', type: 'pump', metadata: { site: 'north', 'ключ': '値' } });
    const fetched = await registry.get(created.id);
    const updated = await registry.update({ id: created.id, status: 'MAINTENANCE', metadata: { site: 'south' }, expectedVersion: 1 });
    const deleted = await registry.delete(created.id, 2);

    // Assess
    expect(fetched).toEqual(created);
    expect(updated).toMatchObject({ name: 'Pump 1', status: 'MAINTENANCE', metadata: { site: 'south' }, version: 2, createdAt: created.createdAt });
    expect(deleted).toEqual(updated);
    await expect(registry.get(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('maps a stale version to ConflictError carrying the current version, and leaves the device unchanged', async () => {
    // Prepare
    const registry = registryOn();
    const device = await registry.create({ name: 'a', type: 'pump' });
    await registry.update({ id: device.id, name: 'b' });

    // Act
    const onUpdate = await registry.update({ id: device.id, name: 'c', expectedVersion: 1 }).catch((e: unknown) => e);
    const onDelete = await registry.delete(device.id, 1).catch((e: unknown) => e);

    // Assess
    expect(onUpdate).toBeInstanceOf(ConflictError);
    expect((onUpdate as ConflictError).currentVersion).toBe(2);
    expect((onUpdate as Error).message).toMatch(/version 2, not the expected 1/);
    expect(onDelete).toBeInstanceOf(ConflictError);
    expect(await registry.get(device.id)).toMatchObject({ name: 'b', version: 2 });
  });

  it('takes the current version from the old item DynamoDB returns with a failed condition', async () => {
    // Prepare: dynalite lacks ReturnValuesOnConditionCheckFailure; a proxy in front of it adds the
    // old item to the error answer on the wire, as DynamoDB does, with a version dynalite never had.
    const proxy = await startAnswerRewriter(fixture.endpoint, (request, answer) => {
      const input = JSON.parse(request) as { ReturnValuesOnConditionCheckFailure?: string; Key?: { id?: { S?: string } } };
      const error = JSON.parse(answer) as { __type?: string };
      if (!error.__type?.endsWith('#ConditionalCheckFailedException') || input.ReturnValuesOnConditionCheckFailure !== 'ALL_OLD') return answer;
      return JSON.stringify({ ...error, Item: { id: { S: String(input.Key?.id?.S) }, version: { N: '41' } } });
    });
    const doc = createDocumentClient({ endpoint: proxy.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const registry = registryOn(new DynamoDbDeviceRepository(doc, fixture.devicesTable));
    const device = await registry.create({ name: 'a', type: 'pump' });

    // Act
    const conflict = await registry.update({ id: device.id, name: 'b', expectedVersion: 7 }).catch((e: unknown) => e);

    // Assess
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as ConflictError).currentVersion).toBe(41);
    doc.destroy();
    await proxy.close();
  });

  it('maps a duplicate create to AlreadyExistsError without overwriting', async () => {
    // Prepare
    const registry = registryOn();
    const first = await registry.create({ name: 'original', type: 'pump' });

    // Act
    const duplicate = await registry.create({ id: first.id, name: 'impostor', type: 'valve' }).catch((e: unknown) => e);

    // Assess
    expect(duplicate).toBeInstanceOf(AlreadyExistsError);
    expect(await registry.get(first.id)).toEqual(first);
  });

  it('reports NotFoundError for updates and deletes of an unknown device without creating it', async () => {
    // Prepare
    const registry = registryOn();
    const id = '7a1e8f0c-0000-4000-8000-0000000000aa';

    // Act
    const onUpdate = await registry.update({ id, name: 'ghost' }).catch((e: unknown) => e);
    const onDelete = await registry.delete(id, 3).catch((e: unknown) => e);

    // Assess
    expect(onUpdate).toBeInstanceOf(NotFoundError);
    expect(onDelete).toBeInstanceOf(NotFoundError);
    expect(await allDeviceIds(fixture.doc, fixture.devicesTable)).not.toContain(id);
  });
});

describe('listing 250 devices on dynalite', () => {
  let fixture: DynamoFixture;
  let registry: DeviceRegistry;
  let created: string[];

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    let tick = 0;
    registry = new DeviceRegistry({
      repository: new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable, { maxFilteredEvaluations: 40 }),
      stats: new InMemoryStats(),
      pageTokens: createPageTokenCodec(SECRET),
      // Real-time-like clock: devices created later sort later.
      clock: () => new Date(Date.UTC(2026, 0, 1) + tick++),
    });
    created = [];
    for (let i = 0; i < 250; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, j) =>
          registry.create({ name: `device ${i + j}`, type: (i + j) % 5 === 0 ? 'gateway' : 'sensor', status: (i + j) % 2 ? 'ONLINE' : 'OFFLINE' }),
        ),
      );
      created.push(...batch.sort((a, b) => (a.createdAt + a.id < b.createdAt + b.id ? -1 : 1)).map((d) => d.id));
    }
  });
  afterAll(async () => {
    await fixture.stop();
  });

  const listAll = async (input: { status?: 'ONLINE' | 'OFFLINE'; type?: string }, during?: () => Promise<unknown>) => {
    const ids: string[] = [];
    const pageSizes: number[] = [];
    let pageToken: string | undefined;
    do {
      const [page] = await Promise.all([registry.list({ ...input, limit: 25, ...(pageToken && { pageToken }) }), during?.()]);
      ids.push(...page.items.map((d) => d.id));
      pageSizes.push(page.items.length);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return { ids, pageSizes };
  };

  it('returns every device exactly once, in creation order, in pages of 25', async () => {
    // Act
    const { ids, pageSizes } = await listAll({});
    const first = await registry.list({ limit: 25 });

    // Assess
    expect(ids).toEqual(created);
    expect(pageSizes).toEqual(Array(10).fill(25));
    expect(first.total).toBe(0); // this registry's InMemoryStats is not fed by a change feed
  });

  it('returns every existing device exactly once while other devices are being inserted', async () => {
    // Prepare
    let inserted = 0;
    const insertSome = () =>
      Promise.all(Array.from({ length: 5 }, () => registry.create({ name: `late ${inserted++}`, type: 'late' })));

    // Act
    const { ids } = await listAll({}, insertSome);

    // Assess
    expect(inserted).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 250)).toEqual(created);
  });

  it('filters by status, by type and by both, with no duplicates and no gaps', async () => {
    // Prepare
    const devices = await Promise.all(created.map((id) => registry.get(id)));
    const expected = (pred: (d: (typeof devices)[number]) => boolean) => devices.filter(pred).map((d) => d.id);

    // Act
    const online = await listAll({ status: 'ONLINE' });
    const gateways = await listAll({ type: 'gateway' });
    const onlineGateways = await listAll({ status: 'ONLINE', type: 'gateway' });

    // Assess
    expect(online.ids).toEqual(expected((d) => d.status === 'ONLINE'));
    expect(gateways.ids).toEqual(expected((d) => d.type === 'gateway'));
    expect(onlineGateways.ids).toEqual(expected((d) => d.status === 'ONLINE' && d.type === 'gateway'));
    // Bounded evaluation (40 index entries per call) makes some pages short; listing still completes.
    expect(onlineGateways.pageSizes.some((n) => n < 25)).toBe(true);
  });

  it('rejects forged, corrupted and foreign page tokens', async () => {
    // Prepare
    const page = await registry.list({ limit: 25 });
    const token = page.nextPageToken!;
    const foreign = createPageTokenCodec('another-deployment-secret-123456').encode({ id: created[0]!, listPk: 'DEVICE', createdKey: 'x' }, {});
    const tampered = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);

    // Act / Assess
    await expect(registry.list({ pageToken: tampered })).rejects.toBeInstanceOf(ValidationError);
    await expect(registry.list({ pageToken: token.slice(0, 20) })).rejects.toBeInstanceOf(ValidationError);
    await expect(registry.list({ pageToken: foreign })).rejects.toThrow(/forged, corrupted or was issued by another deployment/);
    await expect(registry.list({ pageToken: token, status: 'ONLINE' })).rejects.toThrow(/other filters/);
    await expect(registry.list({ pageToken: '{"id":"x"}' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects every invalid input with a clear message and writes nothing', async () => {
    // Prepare
    const before = await allDeviceIds(fixture.doc, fixture.devicesTable);
    const id = created[0]!;
    const calls: [RegExp, () => Promise<unknown>][] = [
      [/name must not be empty/, () => registry.create({ name: '', type: 'sensor' })],
      [/name must be at most 128 characters, got 129/, () => registry.create({ name: 'n'.repeat(129), type: 'sensor' })],
      [/type must be 1-64 characters/, () => registry.create({ name: 'n', type: 'Sensor!' })],
      [/type must be 1-64 characters/, () => registry.create({ name: 'n', type: 't'.repeat(65) })],
      [/metadata must have at most 50 entries, got 51/, () => registry.create({ name: 'n', type: 'sensor', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) })],
      [/at most 128 characters, got 129/, () => registry.create({ name: 'n', type: 'sensor', metadata: { ['k'.repeat(129)]: 'v' } })],
      [/at most 1024 characters, got 1025/, () => registry.create({ name: 'n', type: 'sensor', metadata: { k: 'v'.repeat(1025) } })],
      [/id must be a UUID/, () => registry.create({ id: 'thing-1', name: 'n', type: 'sensor' })],
      [/status must be one of/, () => registry.create({ name: 'n', type: 'sensor', status: 'LOST' as never })],
      [/name must be at most 128/, () => registry.update({ id, name: 'n'.repeat(129) })],
      [/metadata must have at most 50 entries/, () => registry.update({ id, metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) })],
      [/id must be a UUID/, () => registry.update({ id: 'x', name: 'n' })],
      [/id must be a UUID/, () => registry.delete('../etc')],
      [/limit must be an integer from 1 to 100, got 500/, () => registry.list({ limit: 500 })],
    ];

    // Act
    const errors = await Promise.all(calls.map(([, call]) => call().catch((e: unknown) => e)));

    // Assess
    errors.forEach((error, i) => {
      expect(error, String(calls[i]![0])).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(calls[i]![0]);
    });
    expect(await allDeviceIds(fixture.doc, fixture.devicesTable)).toEqual(before);
    expect(await registry.get(id)).toMatchObject({ version: 1 });
  });
});
