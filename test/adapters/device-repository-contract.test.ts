/**
 * One behaviour, two implementations: the in-memory repository is a faithful test double
 * only if it answers like the DynamoDB one. Every case runs against both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DEVICES_TABLE } from '../../src/contracts/tables.js';
import { InMemoryDeviceRepository } from '../../src/adapters/memory/in-memory-device-repository.js';
import type { Device } from '../../src/domain/device.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../src/domain/errors.js';
import { ensureTables, localTableNames } from '../../src/local/dynamodb/dynalite.js';
import type { DeviceRepository } from '../../src/ports/device-repository.js';
import { startDynamoFixture, type DynamoFixture } from './dynamodb/dynamo-fixture.js';

let fixture: DynamoFixture;
let tables = 0;
beforeAll(async () => {
  fixture = await startDynamoFixture();
});
afterAll(async () => {
  await fixture.stop();
});

const implementations: [string, () => Promise<DeviceRepository>][] = [
  ['InMemoryDeviceRepository', async () => new InMemoryDeviceRepository()],
  [
    'DynamoDbDeviceRepository',
    async () => {
      // A fresh table per case, so listings see only that case's devices.
      const names = localTableNames(`contract${tables++}-`, [DEVICES_TABLE]);
      await ensureTables(fixture.endpoint, names, [DEVICES_TABLE]);
      return new DynamoDbDeviceRepository(fixture.doc, names.Devices!);
    },
  ],
];

const device = (n: number, overrides: Partial<Device> = {}): Device => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  name: `device ${n}`,
  type: n % 2 ? 'odd' : 'even',
  status: n % 3 ? 'ONLINE' : 'OFFLINE',
  // Creation times out of id order, so order by createdAt then id is really tested.
  createdAt: new Date(Date.UTC(2026, 0, 1) + (n % 4) * 1000).toISOString(),
  updatedAt: '2026-01-01T00:00:00.000Z',
  metadata: { n: String(n) },
  version: 1,
  readings: {},
  ...overrides,
});

describe.each(implementations)('%s', (_, make) => {
  it('creates once, then refuses the same id', async () => {
    // Prepare
    const repository = await make();
    await repository.create(device(1));

    // Act
    const again = await repository.create(device(1, { name: 'other' })).catch((e: unknown) => e);

    // Assess
    expect(again).toBeInstanceOf(AlreadyExistsError);
    expect(await repository.get(device(1).id)).toEqual(device(1));
    expect(await repository.get(device(2).id)).toBeUndefined();
  });

  it('updates only the given fields and bumps the version, with version checks', async () => {
    // Prepare
    const repository = await make();
    await repository.create(device(1));

    // Act
    const updated = await repository.update(device(1).id, { status: 'ERROR', metadata: {} }, '2026-02-01T00:00:00.000Z', 1);
    const stale = await repository.update(device(1).id, { name: 'x' }, '2026-02-02T00:00:00.000Z', 1).catch((e: unknown) => e);
    const missing = await repository.update(device(9).id, { name: 'x' }, '2026-02-02T00:00:00.000Z').catch((e: unknown) => e);

    // Assess
    expect(updated).toEqual({ ...device(1), status: 'ERROR', metadata: {}, updatedAt: '2026-02-01T00:00:00.000Z', version: 2 });
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).currentVersion).toBe(2);
    expect(missing).toBeInstanceOf(NotFoundError);
  });

  it('deletes with version checks and returns the deleted device', async () => {
    // Prepare
    const repository = await make();
    await repository.create(device(1));

    // Act
    const stale = await repository.delete(device(1).id, 5).catch((e: unknown) => e);
    const deleted = await repository.delete(device(1).id, 1);
    const again = await repository.delete(device(1).id).catch((e: unknown) => e);

    // Assess
    expect(stale).toBeInstanceOf(ConflictError);
    expect(deleted).toEqual(device(1));
    expect(again).toBeInstanceOf(NotFoundError);
  });

  it('lists in createdAt-then-id order, page by page, with and without filters', async () => {
    // Prepare
    const repository = await make();
    const all = Array.from({ length: 12 }, (_, i) => device(i + 1));
    await Promise.all(all.map((d) => repository.create(d)));
    const order = (ds: Device[]) => [...ds].sort((a, b) => (a.createdAt + a.id < b.createdAt + b.id ? -1 : 1)).map((d) => d.id);
    const listAll = async (filters: { status?: 'ONLINE'; type?: string }) => {
      const ids: string[] = [];
      let after;
      do {
        const page: Awaited<ReturnType<DeviceRepository['list']>> = await repository.list({ limit: 5, ...filters, ...(after && { after }) });
        ids.push(...page.items.map((d) => d.id));
        after = page.next;
      } while (after);
      return ids;
    };

    // Act
    const everything = await listAll({});
    const online = await listAll({ status: 'ONLINE' });
    const odd = await listAll({ type: 'odd' });
    const both = await listAll({ status: 'ONLINE', type: 'odd' });
    const exact = await repository.list({ limit: 12 });

    // Assess
    expect(everything).toEqual(order(all));
    expect(online).toEqual(order(all.filter((d) => d.status === 'ONLINE')));
    expect(odd).toEqual(order(all.filter((d) => d.type === 'odd')));
    expect(both).toEqual(order(all.filter((d) => d.status === 'ONLINE' && d.type === 'odd')));
    expect(exact.next).toBeUndefined();
  });
});
