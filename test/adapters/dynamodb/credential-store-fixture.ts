/** A device credential store on dynalite beside the registry whose devices it binds, as the credential tests use it. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceCredentialStore } from '../../../src/adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDeviceRepository } from '../../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../../src/adapters/dynamodb/stats-store.js';
import { DEVICES_TABLE, STATS_TABLE } from '../../../src/contracts/tables.js';
import { DeviceRegistry } from '../../../src/domain/device-registry.js';
import { createPageTokenCodec } from '../../../src/domain/page-token.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite } from '../../../src/local/dynamodb/dynalite.js';

/** The store (its clock fixed at `now`), the registry, and the devices table they share. */
export interface CredentialStoreFixture {
  readonly doc: DynamoDBDocumentClient;
  readonly devicesTable: string;
  readonly store: DynamoDbDeviceCredentialStore;
  readonly registry: DeviceRegistry;
  stop(): Promise<void>;
}

/** Starts dynalite with the devices and stats tables (names starting with `prefix`). */
export async function startCredentialStoreFixture(prefix: string, now: Date): Promise<CredentialStoreFixture> {
  const dynamo = await startDynalite();
  const names = localTableNames(prefix);
  await ensureTables(dynamo.endpoint, names, [DEVICES_TABLE, STATS_TABLE]);
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const devicesTable = names[DEVICES_TABLE.id]!;
  return {
    doc,
    devicesTable,
    store: new DynamoDbDeviceCredentialStore(doc, devicesTable, { clock: () => now }),
    registry: new DeviceRegistry({
      repository: new DynamoDbDeviceRepository(doc, devicesTable),
      stats: new DynamoDbStatsStore(doc, names[STATS_TABLE.id]!),
      pageTokens: createPageTokenCodec('k'.repeat(32)),
    }),
    async stop() {
      doc.destroy();
      await dynamo.stop();
    },
  };
}
