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
export const NONE_DATA_SOURCE_FIELDS = ['Mutation.publishDeviceUpdate', 'Mutation.publishAlarmUpdate'] as const;
