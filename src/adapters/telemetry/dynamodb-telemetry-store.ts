/**
 * TelemetryStore on the Telemetry table (TELEMETRY_TABLE): one item per reading.
 *   pk = `<deviceId>#<UTC day>`   spreads a device's history over one partition per day
 *   sk = `<ts, 15 digits>#<seq, 16 digits>`   time order, then sequence; the key of a
 *        reading is a function of (device, ts, seq), so a redelivered reading overwrites itself
 *   m  = the metrics map; expiresAt = TTL (epoch s), the retention.
 * Writes go through BatchWriteItem (25 per call) with UnprocessedItems retried with backoff.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ReadingValue } from '../../domain/device.js';
import { UnavailableError, ValidationError } from '../../domain/errors.js';
import type {
  TelemetryPage,
  TelemetryPoint,
  TelemetryQuery,
  TelemetrySample,
  TelemetryStore,
  TelemetryWriteResult,
} from '../../ports/telemetry-store.js';

/** Options of {@link DynamoDbTelemetryStore}. */
export interface DynamoDbTelemetryStoreOptions {
  /** Days a reading is kept (TTL from its timestamp). @default 30 */
  readonly retentionDays?: number;
  /** Attempts for UnprocessedItems before giving up with UnavailableError. @default 8 */
  readonly maxAttempts?: number;
  /** Base backoff in ms (doubles per attempt, full jitter). @default 50 */
  readonly backoffMs?: number;
  /** Concurrent BatchWriteItem calls. @default 8 */
  readonly concurrency?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const DAY_MS = 86_400_000;
const BATCH = 25;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** The partition key of a device's readings on the day of `ts`. */
export const telemetryPartitionKey = (deviceId: string, ts: number): string =>
  `${deviceId}#${new Date(ts).toISOString().slice(0, 10)}`;

/** The sort key of one reading. */
export const telemetrySortKey = (ts: number, seq: number): string => `${pad(ts, 15)}#${pad(seq, 16)}`;

/** Telemetry in DynamoDB: every account, and the local default. */
export class DynamoDbTelemetryStore implements TelemetryStore {
  private readonly retentionSeconds: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly concurrency: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbTelemetryStoreOptions = {},
  ) {
    this.retentionSeconds = (options.retentionDays ?? 30) * 86_400;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.backoffMs = options.backoffMs ?? 50;
    this.concurrency = options.concurrency ?? 8;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async write(points: readonly TelemetryPoint[]): Promise<TelemetryWriteResult> {
    // BatchWriteItem refuses two writes of one key in a call: keep one per key.
    const byKey = new Map<string, Record<string, unknown>>();
    for (const point of points) {
      const item = {
        pk: telemetryPartitionKey(point.deviceId, point.ts),
        sk: telemetrySortKey(point.ts, point.seq),
        deviceId: point.deviceId,
        ts: point.ts,
        seq: point.seq,
        m: { ...point.metrics },
        expiresAt: Math.floor(point.ts / 1000) + this.retentionSeconds,
      };
      byKey.set(`${item.pk}|${item.sk}`, item);
    }
    const items = [...byKey.values()];
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < items.length; i += BATCH) chunks.push(items.slice(i, i + BATCH));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next]!;
        next += 1;
        await this.writeChunk(chunk);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, chunks.length) }, worker));
    return { rejected: [] };
  }

  private async writeChunk(items: Record<string, unknown>[]): Promise<void> {
    let requests: unknown[] = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; ; attempt += 1) {
      let unprocessed: unknown[] = [];
      try {
        const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests as never } }));
        unprocessed = result.UnprocessedItems?.[this.tableName] ?? [];
      } catch (error) {
        const name = (error as { name?: string }).name;
        const retryable = name === 'ProvisionedThroughputExceededException' || name === 'ThrottlingException' || name === 'InternalServerError';
        if (!retryable || attempt >= this.maxAttempts) {
          throw new UnavailableError(`telemetry write failed: ${(error as Error).message}`, { cause: error });
        }
        unprocessed = requests;
      }
      if (unprocessed.length === 0) return;
      if (attempt >= this.maxAttempts) {
        throw new UnavailableError(`telemetry write left ${unprocessed.length} items unprocessed after ${attempt} attempts`);
      }
      requests = unprocessed;
      await this.sleep(Math.random() * this.backoffMs * 2 ** (attempt - 1));
    }
  }

  async query(query: TelemetryQuery): Promise<TelemetryPage> {
    validateQuery(query);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const items: TelemetrySample[] = [];
    const start = after ? Math.max(query.from, after.ts) : query.from;
    const last = query.to - 1;
    for (let day = Math.floor(start / DAY_MS) * DAY_MS; day <= last && items.length < query.limit; day += DAY_MS) {
      const lower = telemetrySortKey(Math.max(start, day), 0);
      const upper = `${pad(Math.min(last, day + DAY_MS - 1), 15)}#~`;
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
            FilterExpression: 'attribute_exists(m.#metric)',
            ProjectionExpression: 'ts, seq, m.#metric',
            ExpressionAttributeNames: { '#metric': query.metric },
            ExpressionAttributeValues: { ':pk': telemetryPartitionKey(query.deviceId, day), ':lower': lower, ':upper': upper },
            ExclusiveStartKey: exclusiveStartKey,
            Limit: Math.max(query.limit * 2, 50),
          }),
        );
        for (const item of page.Items ?? []) {
          const ts = item.ts as number;
          const seq = item.seq as number;
          if (after && (ts < after.ts || (ts === after.ts && seq <= after.seq))) continue;
          const value = (item.m as Record<string, ReadingValue> | undefined)?.[query.metric];
          if (value === undefined) continue;
          items.push({ ts, seq, value });
          if (items.length === query.limit) break;
        }
        exclusiveStartKey = items.length < query.limit ? page.LastEvaluatedKey : undefined;
      } while (exclusiveStartKey);
    }
    const tail = items[items.length - 1];
    return items.length === query.limit && tail ? { items, nextCursor: encodeCursor(tail.ts, tail.seq) } : { items };
  }

  private async send(command: QueryCommand) {
    try {
      return await this.doc.send(command);
    } catch (error) {
      throw new UnavailableError(`telemetry query failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Shared validation of a telemetry query (also used by other TelemetryReader implementations). */
export function validateQuery(query: TelemetryQuery): void {
  if (typeof query.deviceId !== 'string' || query.deviceId.length === 0) throw new ValidationError('deviceId is required', 'deviceId');
  if (typeof query.metric !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(query.metric)) {
    throw new ValidationError('metric must be a metric name', 'metric');
  }
  if (!Number.isSafeInteger(query.from) || !Number.isSafeInteger(query.to) || query.from < 0 || query.to <= query.from) {
    throw new ValidationError('time range must satisfy 0 <= from < to (epoch ms)', 'from');
  }
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000) {
    throw new ValidationError('limit must be between 1 and 1000', 'limit');
  }
}

/** Cursor = the (ts, seq) of the last sample returned; not secret, only a position. */
export function encodeCursor(ts: number, seq: number): string {
  return Buffer.from(JSON.stringify([ts, seq]), 'utf8').toString('base64url');
}

/** Reads a cursor; ValidationError when it is not one. */
export function decodeCursor(cursor: string): { ts: number; seq: number } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      return { ts: value[0] as number, seq: value[1] as number };
    }
  } catch {
    // fall through
  }
  throw new ValidationError('cursor is not valid', 'cursor');
}
