/** BatchGetItem of one table with the retries of unprocessed keys that the API requires. */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../../domain/errors.js';

/** DynamoDB's limit of keys per BatchGetItem request. */
export const MAX_BATCH_GET_KEYS = 100;
const MAX_ROUNDS = 8;

/**
 * Reads `keys` (at most 100) from `tableName`, retrying UnprocessedKeys with backoff.
 * Returns the items found, in no particular order.
 */
export async function batchGet(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: { consistentRead?: boolean; projection?: string } = {},
): Promise<Record<string, unknown>[]> {
  if (keys.length === 0) return [];
  if (keys.length > MAX_BATCH_GET_KEYS) throw new RangeError(`batchGet takes at most ${MAX_BATCH_GET_KEYS} keys, got ${keys.length}`);
  const items: Record<string, unknown>[] = [];
  let pending: Record<string, unknown>[] = [...keys];
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_ROUNDS) throw new UnavailableError(`DynamoDB left ${pending.length} keys unprocessed after ${MAX_ROUNDS} attempts`);
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** round * 10));
    const result = await doc.send(
      new BatchGetCommand({
        RequestItems: { [tableName]: { Keys: pending, ConsistentRead: options.consistentRead ?? false, ...(options.projection && { ProjectionExpression: options.projection }) } },
      }),
    );
    items.push(...(result.Responses?.[tableName] ?? []));
    pending = (result.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
  }
  return items;
}
