/**
 * An in-memory dynalite and a document client on it for one test file: started before the
 * file's first test and stopped after its last, with the given platform tables created.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import type { TableDefinition } from '../../src/contracts/tables.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite, type LocalDynamo } from '../../src/local/dynamodb/dynalite.js';

/** What {@link useLocalDynamo} hands a test file; read it inside hooks and tests only. */
export interface LocalDynamoHandle {
  /** dynalite's endpoint. */
  readonly endpoint: string;
  readonly doc: DynamoDBDocumentClient;
  /** The physical name of one of the tables created for the file. */
  table(definition: TableDefinition): string;
}

/** Starts dynalite for the calling test file, with `tables` created under `prefix`. */
export function useLocalDynamo(options: { readonly tables?: readonly TableDefinition[]; readonly prefix?: string } = {}): LocalDynamoHandle {
  const tables = options.tables ?? [];
  const names = localTableNames(options.prefix ?? 'test-', tables);
  let dynamo: LocalDynamo | undefined;
  let doc: DynamoDBDocumentClient | undefined;
  beforeAll(async () => {
    dynamo = await startDynalite();
    if (tables.length > 0) await ensureTables(dynamo.endpoint, names, tables);
    doc = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  });
  afterAll(async () => {
    doc?.destroy();
    await dynamo?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useLocalDynamo: read before its beforeAll ran (use it inside hooks and tests)');
    return value;
  };
  return {
    get endpoint() {
      return started(dynamo).endpoint;
    },
    get doc() {
      return started(doc);
    },
    table(definition) {
      const name = names[definition.id];
      if (!name) throw new Error(`useLocalDynamo: ${definition.id} is not one of this file's tables`);
      return name;
    },
  };
}
