import { readFileSync } from 'node:fs';
import { buildASTSchema, parse, type GraphQLSchema } from 'graphql';
import { SCHEMA_PATH } from '../contracts/graphql-api.js';
import { APPSYNC_DEFINITIONS_SDL } from './appsync-definitions.js';

/** The schema file's text, unchanged. */
export function readSchemaSdl(path: string = SCHEMA_PATH): string {
  return readFileSync(path, 'utf8');
}

/**
 * Builds the schema as AppSync sees it (its scalars and directives declared), without any
 * scalar behaviour: enough for codegen and the contract test. The local server adds the
 * scalar implementations on top (see buildAppSyncSchema).
 */
export function buildSchemaFromSdl(sdl: string = readSchemaSdl()): GraphQLSchema {
  return buildASTSchema(parse(`${APPSYNC_DEFINITIONS_SDL}\n${sdl}`));
}
