import { describe, expect, it } from 'vitest';
import { InMemoryDeviceRepository } from '../../src/adapters/memory/in-memory-device-repository.js';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';

const SECRET = 'registry-test-secret-0123456789';

function setup() {
  const stats = new InMemoryStats();
  const repository = new InMemoryDeviceRepository({ onChange: (change) => stats.apply(change) });
  let tick = 0;
  const clock = () => new Date(Date.UTC(2026, 0, 1) + tick++ * 1000);
  const registry = new DeviceRegistry({ repository, stats, pageTokens: createPageTokenCodec(SECRET), clock });
  return { registry, repository, stats };
}

describe('DeviceRegistry (in-memory ports)', () => {
  it('creates a device with a generated UUID, version 1 and the clock time', async () => {
    // Prepare
    const { registry } = setup();

    // Act
    const device = await registry.create({ name: 'Boiler', type: 'thermostat', metadata: { site: 'b1' } });

    // Assess
    expect(device.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(device).toMatchObject({ name: 'Boiler', type: 'thermostat', status: 'UNKNOWN', version: 1, metadata: { site: 'b1' } });
    expect(device.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(await registry.get(device.id)).toEqual(device);
  });

  it('rejects a duplicate create without overwriting the first device', async () => {
    // Prepare
    const { registry } = setup();
    const first = await registry.create({ id: '00000000-0000-4000-8000-000000000001', name: 'one', type: 't' });

    // Act
    const second = registry.create({ id: first.id, name: 'two', type: 't' });

    // Assess
    await expect(second).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await registry.get(first.id)).name).toBe('one');
  });

  it('updates with the expected version and rejects a stale one with the current version', async () => {
    // Prepare
    const { registry } = setup();
    const device = await registry.create({ name: 'a', type: 't' });

    // Act
    const updated = await registry.update({ id: device.id, status: 'ONLINE', expectedVersion: 1 });
    const stale = await registry.update({ id: device.id, name: 'b', expectedVersion: 1 }).catch((e: unknown) => e);

    // Assess
    expect(updated).toMatchObject({ status: 'ONLINE', version: 2, name: 'a' });
    expect(updated.updatedAt > device.updatedAt).toBe(true);
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).currentVersion).toBe(2);
    expect((await registry.get(device.id)).name).toBe('a');
  });

  it('treats null optional fields as absent, as GraphQL callers send them', async () => {
    // Prepare
    const { registry } = setup();
    const device = await registry.create({ id: null, name: 'a', type: 't', status: null, metadata: null } as never);

    // Act
    const updated = await registry.update({ id: device.id, name: null, type: null, metadata: null, expectedVersion: null, status: 'ERROR' } as never);
    const page = await registry.list({ limit: null, pageToken: null, status: null, type: null } as never);

    // Assess
    expect(device).toMatchObject({ status: 'UNKNOWN', metadata: {} });
    expect(updated).toMatchObject({ name: 'a', type: 't', status: 'ERROR', version: 2 });
    expect(page.items).toHaveLength(1);
  });

  it('deletes a device, then reports it as not found', async () => {
    // Prepare
    const { registry } = setup();
    const device = await registry.create({ name: 'a', type: 't' });

    // Act
    const deleted = await registry.delete(device.id, 1);

    // Assess
    expect(deleted.id).toBe(device.id);
    await expect(registry.get(device.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.delete(device.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.update({ id: device.id, name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists every device once across pages, with totals from the counters', async () => {
    // Prepare
    const { registry } = setup();
    const created = [];
    for (let i = 0; i < 60; i++) created.push(await registry.create({ name: `d${i}`, type: i % 2 ? 'odd' : 'even', status: i % 3 ? 'ONLINE' : 'OFFLINE' }));

    // Act
    const seen: string[] = [];
    let pageToken: string | undefined;
    const totals = new Set<number | undefined>();
    do {
      const page = await registry.list({ limit: 25, ...(pageToken && { pageToken }) });
      seen.push(...page.items.map((d) => d.id));
      totals.add(page.total);
      pageToken = page.nextPageToken;
    } while (pageToken);
    const odd = await registry.list({ type: 'odd', limit: 100 });
    const both = await registry.list({ type: 'odd', status: 'ONLINE', limit: 100 });

    // Assess
    expect(seen).toEqual(created.map((d) => d.id));
    expect([...totals]).toEqual([60]);
    expect(odd.items).toHaveLength(30);
    expect(odd.total).toBe(30);
    expect(odd.nextPageToken).toBeUndefined();
    expect(both.items.every((d) => d.type === 'odd' && d.status === 'ONLINE')).toBe(true);
    expect(both.total).toBeUndefined();
  });

  it('rejects a page token used with other filters or forged', async () => {
    // Prepare
    const { registry } = setup();
    for (let i = 0; i < 3; i++) await registry.create({ name: `d${i}`, type: 'x' });
    const first = await registry.list({ limit: 1 });

    // Act / Assess
    await expect(registry.list({ limit: 1, type: 'x', pageToken: first.nextPageToken! })).rejects.toThrow(/other filters/);
    await expect(registry.list({ pageToken: `${first.nextPageToken!.slice(0, -2)}AA` })).rejects.toBeInstanceOf(ValidationError);
    await expect(registry.list({ pageToken: 'garbage' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects every invalid input before writing anything', async () => {
    // Prepare
    const { registry, stats } = setup();
    const id = '00000000-0000-4000-8000-000000000009';
    const bad: [string, () => Promise<unknown>, RegExp][] = [
      ['empty name', () => registry.create({ name: '', type: 't' }), /name must not be empty/],
      ['long name', () => registry.create({ name: 'n'.repeat(129), type: 't' }), /name must be at most 128/],
      ['bad type', () => registry.create({ name: 'n', type: 'Bad Type' }), /type must be 1-64/],
      ['bad status', () => registry.create({ name: 'n', type: 't', status: 'BROKEN' as never }), /status must be one of/],
      ['bad id', () => registry.create({ id: 'nope', name: 'n', type: 't' }), /id must be a UUID/],
      ['51 entries', () => registry.create({ name: 'n', type: 't', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }), /at most 50 entries/],
      ['long key', () => registry.create({ name: 'n', type: 't', metadata: { ['k'.repeat(129)]: 'v' } }), /at most 128 characters/],
      ['long value', () => registry.create({ name: 'n', type: 't', metadata: { k: 'v'.repeat(1025) } }), /at most 1024 characters/],
      ['get bad id', () => registry.get('1234'), /id must be a UUID/],
      ['update nothing', () => registry.update({ id }), /at least one of/],
      ['update bad version', () => registry.update({ id, name: 'x', expectedVersion: 0 }), /expectedVersion must be a positive integer/],
      ['limit 0', () => registry.list({ limit: 0 }), /limit must be an integer from 1 to 100/],
      ['limit 101', () => registry.list({ limit: 101 }), /limit must be an integer from 1 to 100/],
      ['bad filter type', () => registry.list({ type: 'UPPER' }), /type must be 1-64/],
    ];

    // Act / Assess
    for (const [label, call, message] of bad) {
      const error = await call().catch((e: unknown) => e);
      expect(error, label).toBeInstanceOf(ValidationError);
      expect((error as Error).message, label).toMatch(message);
    }
    expect((await registry.list({})).items).toEqual([]);
    expect((await stats.read()).total).toBe(0);
  });
});
