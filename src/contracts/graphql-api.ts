/**
 * What the AppSync API deployment (lib/api.ts) and the GraphQL runtime agree on: the one schema
 * file, the operation fields (generated from that file) and which fields a NONE data source
 * resolves. No graphql library here: the CDK import graph stays free of runtime code.
 */
import { fileURLToPath } from 'node:url';

export { MUTATION_FIELDS, QUERY_FIELDS, SUBSCRIPTION_FIELDS } from '../generated/graphql/types.js';

/** The one schema file AppSync deploys and every local consumer reads. */
export const SCHEMA_PATH = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));

/**
 * Fields resolved by a NONE data source (their input passes straight through): the CDK
 * construct attaches these, and the local server resolves them the same way. Every other
 * Query and Mutation field goes to the Lambda resolver.
 */
export const NONE_DATA_SOURCE_FIELDS = ['Mutation.publishDeviceUpdate', 'Mutation.publishTelemetryBatch', 'Mutation.publishAlarmUpdate', 'Mutation.publishCommandUpdate'] as const;

/**
 * Bounds of one GraphQL request, set on the AppSync API and enforced by the local server.
 * - queryDepth 15: the data schema has no cycles and is at most 4 levels deep
 *   (`devices { items { metadata { key } } }`); the deepest request a legitimate client sends is
 *   the standard introspection query of GraphiQL and code generators, 15 levels (its type
 *   references nest `ofType` seven times). 15 keeps that tooling working where introspection is
 *   on and refuses the nesting attacks introspection allows (`types { fields { type { fields ...`)
 *   beyond it.
 * - resolverCount 50: only Query, Mutation and Subscription fields have resolvers here, so the
 *   count is the number of root fields (aliases included) in one request, each one Lambda
 *   invocation. A console page needs fewer than 10; 50 bounds what one request can cost and
 *   how much resolver concurrency it can take, far below AppSync's default of 10,000.
 */
export const GRAPHQL_LIMITS = { queryDepth: 15, resolverCount: 50 } as const;

/** Values of the `graphqlIntrospection` context flag; introspection is off unless `enabled`. */
export const GRAPHQL_INTROSPECTION_SETTINGS = ['enabled', 'disabled'] as const;
