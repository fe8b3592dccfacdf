/**
 * One set of cases for every TwinRepository: the DynamoDB one (on dynalite) and the in-memory
 * one must agree, so a test or benchmark on the in-memory one says something about the cloud.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbTwinRepository } from '../../../src/adapters/dynamodb/twin-repository.js';
import { InMemoryTwinRepository } from '../../../src/adapters/memory/in-memory-twin-repository.js';
import { TWINS_TABLE } from '../../../src/contracts/tables.js';
import type { TwinRepository } from '../../../src/ports/twin-repository.js';
import type { StoredTwin } from '../../../src/twin/twin.js';
import { useLocalDynamo } from '../../support/local-dynamo.js';

const dynamo = useLocalDynamo({ tables: [TWINS_TABLE], prefix: 'contract-' });
const table = dynamo.table(TWINS_TABLE);

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
  { name: 'DynamoDB (dynalite)', make: (): TwinRepository => new DynamoDbTwinRepository(dynamo.doc, table) },
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
