import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { KeyAttribute, TableDefinition } from '../../contracts/tables.js';

/** The CreateTable request for a definition (on-demand billing), used by the local runtime. */
export function createTableInput(def: TableDefinition, tableName: string): CreateTableCommandInput {
  const keys = [def.partitionKey, def.sortKey, ...def.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  const attributes = new Map<string, KeyAttribute>();
  for (const key of keys) if (key) attributes.set(key.name, key);
  const keySchema = (pk: KeyAttribute, sk?: KeyAttribute) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()].map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.globalSecondaryIndexes.length > 0 && {
      GlobalSecondaryIndexes: def.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index.partitionKey, index.sortKey),
        Projection:
          index.projection.type === 'INCLUDE'
            ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.projection.nonKeyAttributes] }
            : { ProjectionType: index.projection.type },
      })),
    }),
  };
}
