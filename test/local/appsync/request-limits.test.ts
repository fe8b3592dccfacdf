import { request as httpRequest, Agent } from 'node:http';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHQL_LIMITS } from '../../../src/contracts/graphql-api.js';
import { startGraphqlHarness, type GraphqlHarness } from '../../graphql/helpers.js';

/** `{ a0: stats { total } a1: ... }` with `n` aliases of one root field. */
const aliases = (n: number) => `query { ${Array.from({ length: n }, (_, i) => `a${i}: stats { total }`).join(' ')} }`;
/** A selection nested `depth` levels deep (fields need not exist: the limit is checked first). */
const nested = (depth: number) => `query { ${'f { '.repeat(depth - 1)}x${' }'.repeat(depth - 1)} }`;

describe('local GraphQL request limits (AppSync resolverCountLimit, queryDepthLimit)', () => {
  let h: GraphqlHarness;
  beforeAll(async () => {
    h = await startGraphqlHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("refuses a viewer's 1,000-alias query with an AppSync-shaped error, without running a resolver", async () => {
    // Prepare
    const before = await h.platform.registry.stats();

    // Act
    const response = await h.gql(aliases(1_000), {}, h.viewerToken);

    // Assess
    expect(response.status).toBe(200);
    expect(response.data ?? null).toBeNull();
    expect(response.errors).toEqual([
      expect.objectContaining({ errorType: 'ValidationError', message: `Query has 1000 resolvers; the API allows at most ${GRAPHQL_LIMITS.resolverCount} per request (resolverCountLimit).` }),
    ]);
    expect(await h.platform.registry.stats()).toEqual(before);
  });

  it('refuses a 10,000-alias query the same way', async () => {
    // Act
    const response = await h.gql(aliases(10_000), {}, h.viewerToken);

    // Assess
    expect(response.errors).toEqual([expect.objectContaining({ errorType: 'ValidationError', message: expect.stringContaining('Query has 10000 resolvers') })]);
  });

  it('answers a query at the resolver limit', async () => {
    // Act
    const response = await h.gql(aliases(GRAPHQL_LIMITS.resolverCount), {}, h.viewerToken);

    // Assess
    expect(response.errors).toBeUndefined();
    expect(Object.keys(response.data!)).toHaveLength(GRAPHQL_LIMITS.resolverCount);
  });

  it('refuses a depth-20 query with an AppSync-shaped error', async () => {
    // Act
    const response = await h.gql(nested(20), {}, h.viewerToken);

    // Assess
    expect(response.errors).toEqual([expect.objectContaining({ errorType: 'ValidationError', message: `Query depth exceeds ${GRAPHQL_LIMITS.queryDepth} levels (queryDepthLimit).` })]);
  });

  it('refuses a deep introspection chain, and counts aliases hidden in fragments', async () => {
    // Prepare
    const chain = `query { __schema { types { ${'fields { type { '.repeat(7)}name${' } }'.repeat(7)} } } }`;
    const fields = (prefix: string) => Array.from({ length: 30 }, (_, i) => `${prefix}${i}: stats { total }`).join(' ');
    const spread = `query { ...A ...B } fragment A on Query { ${fields('a')} } fragment B on Query { ${fields('b')} }`;

    // Act
    const deep = await h.gql(chain, {}, h.viewerToken);
    const wide = await h.gql(spread, {}, h.viewerToken);

    // Assess
    expect(deep.errors![0]).toMatchObject({ errorType: 'ValidationError', message: expect.stringContaining('queryDepthLimit') });
    expect(wide.errors![0]).toMatchObject({ errorType: 'ValidationError', message: expect.stringContaining('Query has 60 resolvers') });
  });

  it('still answers the standard introspection query GraphiQL sends', async () => {
    // Act
    const response = await h.gql(getIntrospectionQuery(), {}, h.viewerToken);

    // Assess
    expect(response.errors).toBeUndefined();
    expect(response.data!.__schema.queryType.name).toBe('Query');
  });

  it('after an HTTP 413 answers the next request on the same keep-alive connection', async () => {
    // Prepare: one socket for both requests, as fetch's keep-alive pool would reuse it.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: Buffer | string) =>
      new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
        const req = httpRequest(h.url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: h.viewerToken } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text, socket: req.socket }));
        });
        req.on('error', reject);
        req.end(body);
      });

    // Act
    const tooLarge = await post(Buffer.alloc(2 * 1024 * 1024, 0x20));
    const next = await post(JSON.stringify({ query: '{ stats { total } }' }));
    const viaFetch = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: h.viewerToken }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    const fetchNext = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: h.viewerToken }, body: JSON.stringify({ query: '{ stats { total } }' }) });
    agent.destroy();

    // Assess
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body).errors[0].errorType).toBe('BadRequestException');
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body).data.stats).toBeDefined();
    expect(viaFetch.status).toBe(413);
    expect(fetchNext.status).toBe(200);
  });
});
