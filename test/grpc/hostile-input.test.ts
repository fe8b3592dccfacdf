import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE, startGraphqlHarness, type GraphqlHarness } from '../graphql/helpers.js';
import { call, newClient } from './helpers.js';

/** Names and metadata an attacker sends through every door: each is a typed validation error and nothing is stored. */
describe('hostile device names and metadata keys, through GraphQL and gRPC', () => {
  let h: GraphqlHarness;
  beforeAll(async () => {
    h = await startGraphqlHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('refuses a name with control and bidi override characters', async () => {
    // Prepare
    const grpcClient = newClient(h.platform.endpoints.grpc!, { caPem: h.platform.caCertificatePem });
    const name = 'a\u0000\u202e\nb';

    // Act
    const viaGraphql = await h.gql(CREATE, { input: { name, type: 'pump' } });
    const viaGrpc = await call(grpcClient, 'createDevice', { device: { name, type: 'pump' } });
    grpcClient.close();
    const stored = await h.platform.registry.list({ limit: 100 });

    // Assess
    expect(viaGraphql.errors![0]).toMatchObject({ errorType: 'ValidationError', message: expect.stringContaining('U+0000') });
    expect(viaGrpc.error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('U+0000') });
    expect(stored.items.filter((d) => d.name.includes('\u202e'))).toEqual([]);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the metadata key %s with a ValidationError, not an internal failure', async (key) => {
    // Prepare
    const grpcClient = newClient(h.platform.endpoints.grpc!, { caPem: h.platform.caCertificatePem });

    // Act
    const json = await h.gql(CREATE, { input: { name: 'n', type: 'pump', metadataJson: `{"${key}":"x"}` } });
    const pairs = await h.gql(CREATE, { input: { name: 'n', type: 'pump', metadata: [{ key, value: 'x' }] } });
    const viaGrpc = await call(grpcClient, 'createDevice', { device: { name: 'n', type: 'pump', metadata: { [key]: 'x' } } });
    grpcClient.close();

    // Assess
    for (const response of [json, pairs]) expect(response.errors![0]).toMatchObject({ errorType: 'ValidationError', message: expect.stringContaining('reserved') });
    expect(viaGrpc.error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('reserved') });
  });
});
