import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type TableDescription } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ALL_TABLES, type TableDefinition } from '../../contracts/tables.js';
import { createTableInput } from './create-table-input.js';

/** Placeholder credentials: dynalite checks that requests are signed, not by whom. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

/** A running dynalite server. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Options for {@link startDynalite}. */
export interface StartDynaliteOptions {
  /** Directory for persistent data; in memory when absent. */
  readonly path?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/** Starts dynalite in this process. CreateTable completes at once (createTableMs: 0). */
export async function startDynalite(options: StartDynaliteOptions = {}): Promise<LocalDynamo> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path && { path: options.path }),
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Physical table names for one platform instance: `<prefix><Id>` (e.g. `iot-Devices`). */
export function localTableNames(prefix: string, tables: readonly TableDefinition[] = ALL_TABLES): Record<string, string> {
  return Object.fromEntries(tables.map((t) => [t.id, `${prefix}${t.id}`]));
}

/**
 * Creates every table that does not exist yet, from the same definitions the CDK construct uses,
 * and returns, per table id, the indexes its definition has and the table lacks. An existing table
 * is left as it is, and dynalite's UpdateTable does not build a new global secondary index, so a
 * data directory made before an index was added keeps a table without it.
 */
export async function ensureTables(
  endpoint: string,
  names: Record<string, string>,
  tables: readonly TableDefinition[] = ALL_TABLES,
): Promise<Record<string, readonly string[]>> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    for (const table of tables) {
      const tableName = names[table.id];
      if (!tableName) throw new Error(`No table name given for ${table.id}`);
      try {
        await client.send(new CreateTableCommand(createTableInput(table, tableName)));
      } catch (error) {
        if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
      }
    }
    // A table is CREATING for a moment even with createTableMs 0 (and for seconds in DynamoDB),
    // and refuses items until ACTIVE.
    const missing: Record<string, readonly string[]> = {};
    for (const table of tables) {
      const present = new Set(((await untilActive(client, names[table.id]!)).GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
      missing[table.id] = table.globalSecondaryIndexes.map((index) => index.indexName).filter((name) => !present.has(name));
    }
    return missing;
  } finally {
    client.destroy();
  }
}

async function untilActive(client: DynamoDBClient, tableName: string, timeoutMs = 60_000): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return Table;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
