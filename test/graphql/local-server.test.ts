import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE, DELETE, GET, UPDATE, startGraphqlHarness, type GraphqlHarness } from './helpers.js';

describe('local GraphQL server', () => {
  let h: GraphqlHarness;

  beforeAll(async () => {
    h = await startGraphqlHarness();
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('creates, reads, updates and deletes a device', async () => {
    // Prepare
    const created = await h.gql(CREATE, {
      input: { name: 'Boiler 1', type: 'boiler', metadata: [{ key: 'site', value: 'berlin' }] },
    });
    const id = created.data!.createDevice.id as string;

    // Act
    const read = await h.gql(GET, { id }, h.viewerToken);
    const updated = await h.gql(UPDATE, { input: { id, status: 'MAINTENANCE', metadataJson: '{"site":"hamburg"}', expectedVersion: 1 } });
    const deleted = await h.gql(DELETE, { id, v: 2 });
    const afterDelete = await h.gql(GET, { id });

    // Assess
    expect(created.errors).toBeUndefined();
    expect(created.data!.createDevice).toMatchObject({ name: 'Boiler 1', type: 'boiler', status: 'UNKNOWN', version: 1, metadata: [{ key: 'site', value: 'berlin' }], readings: [], lastSeen: null });
    expect(read.data!.device).toEqual(created.data!.createDevice);
    expect(updated.data!.updateDevice).toMatchObject({ id, status: 'MAINTENANCE', version: 2, metadata: [{ key: 'site', value: 'hamburg' }] });
    expect(deleted.data!.deleteDevice).toMatchObject({ id, version: 2 });
    expect(afterDelete.errors![0]).toMatchObject({ errorType: 'NotFound', path: ['device'] });
  });

  it('answers a stale expectedVersion with a Conflict error and keeps the device', async () => {
    // Prepare
    const { data } = await h.gql(CREATE, { input: { name: 'Valve', type: 'valve' } });
    const id = data!.createDevice.id;

    // Act
    const result = await h.gql(UPDATE, { input: { id, name: 'Renamed', expectedVersion: 7 } });

    // Assess
    expect(result.errors![0]).toMatchObject({ errorType: 'Conflict' });
    expect((await h.gql(GET, { id })).data!.device).toMatchObject({ name: 'Valve', version: 1 });
  });
});
