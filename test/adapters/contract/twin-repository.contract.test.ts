/**
 * One set of cases for every TwinRepository: the DynamoDB one (on dynalite) and the in-memory
 * one must agree, so a test or benchmark on the in-memory one says something about the cloud.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbTwinRepository } from '../../../src/adapters/dynamodb/twin-repository.js';
import { InMemoryTwinRepository } from '../../../src/adapters/memory/in-memory-twin-repository.js';
import { TWINS_TABLE } from '../../../src/contracts/tables.js';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, localTableNames, startDynalite, type LocalDynamo } from '../../../src/local/dynamodb/dynalite.js';
import type { TwinRepository } from '../../../src/ports/twin-repository.js';
import type { StoredTwin } from '../../../src/twin/twin.js';

let dynamo: LocalDynamo;
let doc: ReturnType<typeof createDocumentClient>;
let table: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  const names = localTableNames('contract-', [TWINS_TABLE]);
  await ensureTables(dynamo.endpoint, names, [TWINS_TABLE]);
  table = names.Twins!;
  doc = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
});
afterAll(async () => {
  doc?.destroy();
  await dynamo?.stop();
});

let next = 0;
const twinOf = (deviceId: string, version: number, desired: StoredTwin['desired'] = {}): StoredTwin => ({
  deviceId,
  desired,
  reported: {},
  desiredMetadata: {},
  reportedMetadata: {},
  version,
  updatedAt: new Date(1_700_000_000_000 + version).toISOString(),
});

describe.each([
  { name: 'DynamoDB (dynalite)', make: (): TwinRepository => new DynamoDbTwinRepository(doc, table) },
  { name: 'in memory', make: (): TwinRepository => new InMemoryTwinRepository() },
])('TwinRepository contract: $name', ({ make }) => {
  const freshId = () => `c0ffee00-0000-4000-8000-${String((next += 1)).padStart(12, '0')}`;

  it('reads undefined for a device that never had a twin, and what was written after the first write', async () => {
    // Prepare
    const repository = make();
    const id = freshId();
    const twin = twinOf(id, 1, { fan: { speed: 2 } });

    // Act
    const before = await repository.get(id);
    const written = await repository.put(twin, 0);
    const after = await repository.get(id);

    // Assess
    expect(before).toBeUndefined();
    expect(written).toBe(true);
    expect(after).toEqual(twin);
  });

  it('writes only over the version the writer read: a second first write and a stale version lose', async () => {
    // Prepare
    const repository = make();
    const id = freshId();
    await repository.put(twinOf(id, 1, { a: 1 }), 0);

    // Act
    const secondFirst = await repository.put(twinOf(id, 1, { a: 'other' }), 0);
    const next = await repository.put(twinOf(id, 2, { a: 2 }), 1);
    const stale = await repository.put(twinOf(id, 2, { a: 'stale' }), 1);

    // Assess
    expect([secondFirst, next, stale]).toEqual([false, true, false]);
    expect((await repository.get(id))?.desired).toEqual({ a: 2 });
  });

  it('keeps what it stored whatever the caller does with the objects afterwards', async () => {
    // Prepare
    const repository = make();
    const id = freshId();
    const twin = twinOf(id, 1, { nested: { x: 1 } }) as StoredTwin & { desired: { nested: { x: number } } };
    await repository.put(twin, 0);

    // Act
    twin.desired.nested.x = 99;
    const read = (await repository.get(id)) as StoredTwin & { desired: { nested: { x: number } } };
    read.desired.nested.x = 42;

    // Assess
    expect((await repository.get(id))?.desired).toEqual({ nested: { x: 1 } });
  });
});
