import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';

/** A GraphQL response as the local server sends it (AppSync's shape). */
export interface GqlResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; errorType: string; path?: (string | number)[] }[];
}

/** An ephemeral local platform with the GraphQL server, and helpers to call it. */
export interface GraphqlHarness {
  readonly platform: LocalPlatform;
  readonly url: string;
  /** ws:// URL for graphql-ws clients. */
  readonly realtimeUrl: string;
  readonly issuer: LocalTokenIssuer;
  readonly adminToken: string;
  readonly viewerToken: string;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
}

/** Starts the local platform (ephemeral, every port 0) and its GraphQL step. */
export async function startGraphqlHarness(): Promise<GraphqlHarness> {
  const platform = await startLocalPlatform({ ephemeral: true, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
  const url = platform.endpoints.graphql!;
  const issuer = await LocalTokenIssuer.forProcess();
  const adminToken = await issuer.issue({ user: 'alice', groups: ['admin'] });
  const viewerToken = await issuer.issue({ user: 'victor', groups: ['viewer'] });
  const gql: GraphqlHarness['gql'] = async (query, variables, token = adminToken) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token !== null && { authorization: token }) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as object) };
  };
  return {
    platform,
    url,
    realtimeUrl: url.replace(/^http/, 'ws'),
    issuer,
    adminToken,
    viewerToken,
    gql,
    stop: () => platform.stop(),
  };
}

/** Every Device field, for queries. */
export const DEVICE_FIELDS = 'id name type status createdAt updatedAt lastSeen version metadata { key value } readings { metric numberValue booleanValue stringValue }';

export const CREATE = `mutation Create($input: CreateDeviceInput!) { createDevice(input: $input) { ${DEVICE_FIELDS} } }`;
export const UPDATE = `mutation Update($input: UpdateDeviceInput!) { updateDevice(input: $input) { ${DEVICE_FIELDS} } }`;
export const DELETE = `mutation Delete($id: ID!, $v: Int) { deleteDevice(id: $id, expectedVersion: $v) { ${DEVICE_FIELDS} } }`;
export const GET = `query Get($id: ID!) { device(id: $id) { ${DEVICE_FIELDS} } }`;
export const LIST = `query List($limit: Int, $nextToken: String, $filter: DeviceFilter) { devices(limit: $limit, nextToken: $nextToken, filter: $filter) { items { id name type status } nextToken total } }`;
export const STATS = 'query { stats { total online byStatus { status count } byType { type count } } }';

/**
 * The fleet counters once the change feed has counted every change made so far. Counters are
 * eventually consistent: a test reads them only after the feed settled, i.e. after a flush two
 * consecutive reads agree (bounded, so a feed that never settles fails the test).
 */
export async function settledStats(h: GraphqlHarness): Promise<Record<string, any>> {
  await h.platform.changeFeed.flush();
  let previous = JSON.stringify((await h.gql(STATS)).data!.stats);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    await h.platform.changeFeed.flush();
    const current = JSON.stringify((await h.gql(STATS)).data!.stats);
    if (current === previous) return JSON.parse(current) as Record<string, any>;
    previous = current;
  }
  throw new Error('the change feed did not settle: stats kept changing');
}
