/**
 * A DynamoDB document client for the Telemetry table that asks for ReturnConsumedCapacity on
 * every call and adds up what the table answers (dynalite bills as DynamoDB does: writes on
 * the larger of the item before and after, 1 KB units; reads in 4 KB units, half for eventually
 * consistent reads, a Query on the sum of the items it read). Units are sorted by what the
 * telemetry store did with the call, from the request itself.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** What a call was for. */
export type TelemetryCallKind = 'chunks' | 'rollup-state' | 'rollup-items' | 'compaction-reads' | 'queries';

/** Units and calls per kind. */
/** Units, calls and items read (a Query's ScannedCount, a GetItem's item) per kind. */
export type CapacityCounts = Record<TelemetryCallKind, { calls: number; readUnits: number; writeUnits: number; items: number }>;

const empty = (): CapacityCounts => ({
  chunks: { calls: 0, readUnits: 0, writeUnits: 0, items: 0 },
  'rollup-state': { calls: 0, readUnits: 0, writeUnits: 0, items: 0 },
  'rollup-items': { calls: 0, readUnits: 0, writeUnits: 0, items: 0 },
  'compaction-reads': { calls: 0, readUnits: 0, writeUnits: 0, items: 0 },
  queries: { calls: 0, readUnits: 0, writeUnits: 0, items: 0 },
});

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : (value as { S?: string } | undefined)?.S);

function kindOf(command: string, input: Record<string, unknown>): TelemetryCallKind {
  if (command === 'BatchWriteItemCommand') return 'chunks';
  const key = input.Key as Record<string, unknown> | undefined;
  if (text(key?.sk) === '#rollups') return 'rollup-state';
  if (command === 'PutItemCommand' || command === 'UpdateItemCommand') return 'rollup-items';
  if (command === 'QueryCommand' && input.ConsistentRead === true) return 'compaction-reads';
  return 'queries';
}

/** The counting client; `counts()` is the running total, `reset()` starts again. */
export function capacityCountingClient(endpoint: string) {
  let counts = empty();
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, maxAttempts: 3 });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const command = context.commandName ?? 'unknown';
      const kind = kindOf(command, input);
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }>; ScannedCount?: number; Item?: unknown };
      const consumed = output.ConsumedCapacity;
      const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
      const bucket = counts[kind];
      bucket.calls += 1;
      bucket.items += command === 'QueryCommand' ? (output.ScannedCount ?? 0) : command === 'GetItemCommand' && output.Item ? 1 : 0;
      if (command === 'GetItemCommand' || command === 'QueryCommand') bucket.readUnits += units;
      else bucket.writeUnits += units;
      return result;
    },
    { step: 'initialize', name: 'benchCapacity' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    doc,
    counts: (): CapacityCounts => structuredClone(counts),
    reset: () => {
      counts = empty();
    },
    destroy: () => client.destroy(),
  };
}

/** Sum of a field over some kinds. */
export const total = (counts: CapacityCounts, field: 'calls' | 'readUnits' | 'writeUnits' | 'items', kinds: readonly TelemetryCallKind[] = Object.keys(counts) as TelemetryCallKind[]) =>
  kinds.reduce((s, k) => s + counts[k][field], 0);
