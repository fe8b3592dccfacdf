/**
 * TelemetryStore on the Telemetry table (TELEMETRY_TABLE), packed so that a write request unit
 * carries many readings instead of one.
 *
 * Why packed: DynamoDB bills every write at least 1 WRU (1 KB), and an UpdateItem on the larger
 * of the item before and after. One item per reading costs 1 WRU per message; one item per
 * device per time bucket still costs at least one write per device per Lambda batch (a batch
 * holds ~5 readings of a device at 1 msg / 10 s), about as much as the device-state write, and
 * misses the $0.60 per million target (bench/ingest.ts). So an item holds the readings of a
 * *group* of devices for a short *slot* of time:
 *
 *   slot item   pk = `#g<group, 4 hex>`   group = the top `groupBits` bits of MD5(deviceId). Kinesis
 *                                        puts a record on the shard owning MD5(partition key =
 *                                        thing name), so with a power-of-two shard count a group's
 *                                        devices share a shard and one Lambda batch writes the
 *                                        slot item once, not once per shard.
 *               sk = `<slot start, 15 digits>`   slots of `slotSeconds`
 *               one attribute per reading, named `<device key>.<seq, base 36>` and holding
 *               `{ _t: ms into the slot, <metric>: value, ... }` (metric names start with a
 *               letter, so `_t` never collides); the name is a function of (device, seq), so a
 *               redelivered reading overwrites itself (`SET #r = :r`).
 *               n = bytes of readings added so far; expiresAt = TTL (epoch s).
 *   Each UpdateItem adds `ADD n` under the condition `n <= cap - added`, so a slot item never
 *   grows past `slotItemBytes` (the 100 msg/s device limit, clock-less devices and 100-metric
 *   readings would otherwise grow it without bound, up to the 400 KB item limit).
 *
 *   overflow    readings that do not fit (the slot item is full, or the reading alone is too
 *               large) are stored one item per reading, the layout of the first version of this
 *               store, so its items stay readable: pk = `<deviceId>#<UTC day>`,
 *               sk = `<ts, 15 digits>#<seq, 16 digits>`, m = the metrics, through BatchWriteItem.
 *
 * A reading redelivered after its slot item filled up lands in overflow too; queries merge both
 * and return one sample per (ts, seq), so it is still read once.
 * Reads cost more than writes here: a query reads every reading of the group in the range
 * (about `2^-groupBits` of the fleet per slot), in Query pages of whole slot items that grow
 * while they yield few of the device's readings.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
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

/** Options of {@link DynamoDbTelemetryStore}. Changing `groupBits` or `slotSeconds` hides slot items already written. */
export interface DynamoDbTelemetryStoreOptions {
  /** Days a reading is kept (TTL from its timestamp). @default 30 */
  readonly retentionDays?: number;
  /** Length of a slot item's time slot. @default 10 */
  readonly slotSeconds?: number;
  /** Devices are hashed into 2^groupBits groups (1..16). @default 10 (1,024 groups: ~10 devices each for 10,000 devices) */
  readonly groupBits?: number;
  /** Largest slot item, in DynamoDB item bytes; readings beyond it go to overflow items. @default 4096 */
  readonly slotItemBytes?: number;
  /** Attempts for throttled or unprocessed writes before giving up with UnavailableError. @default 8 */
  readonly maxAttempts?: number;
  /** Base backoff in ms (doubles per attempt, full jitter). @default 50 */
  readonly backoffMs?: number;
  /** Concurrent write calls. @default 8 */
  readonly concurrency?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const DAY_MS = 86_400_000;
const BATCH = 25;
/** Slot items per Query page, at most: 256 x 4 KB stays within Query's 1 MB page. */
const MAX_SLOT_ITEMS_PER_PAGE = 256;
/** Readings per UpdateItem: keeps `SET #r0 = :r0, ...` within DynamoDB's 4 KB expression limit even for tiny readings. */
const MAX_READINGS_PER_UPDATE = 200;
/** Bytes of a slot item besides its readings: pk, sk, n, expiresAt (names and values). */
const SLOT_ITEM_BASE_BYTES = 2 + 6 + 2 + 15 + 1 + 4 + 9 + 6;
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The partition key of a device's overflow readings on the day of `ts`. */
export const telemetryPartitionKey = (deviceId: string, ts: number): string =>
  `${deviceId}#${new Date(ts).toISOString().slice(0, 10)}`;

/** The sort key of one overflow reading. */
export const telemetrySortKey = (ts: number, seq: number): string => `${pad(ts, 15)}#${pad(seq, 16)}`;

/** The group a device's readings are packed with: the top `groupBits` bits of MD5(deviceId), as Kinesis hashes partition keys. */
export function telemetryGroup(deviceId: string, groupBits = 10): number {
  const digest = createHash('md5').update(deviceId, 'utf8').digest();
  return digest.readUInt16BE(0) >> (16 - groupBits);
}

/** The partition key of a group's slot items. */
export const telemetryGroupKey = (group: number): string => `#g${group.toString(16).padStart(4, '0')}`;

/** The sort key of the slot starting at `slotStart` (epoch ms). */
export const telemetrySlotKey = (slotStart: number): string => pad(slotStart, 15);

/** How a device is named inside slot items: a UUID as its 16 bytes in base64url (22 chars), anything else verbatim after `~`. */
export function telemetryDeviceKey(deviceId: string): string {
  return UUID.test(deviceId) ? Buffer.from(deviceId.replace(/-/g, ''), 'hex').toString('base64url') : `~${deviceId}`;
}

/** The attribute of one reading in a slot item. */
export const telemetryReadingName = (deviceId: string, seq: number): string => `${telemetryDeviceKey(deviceId)}.${seq.toString(36)}`;

/** DynamoDB's item-size rules for one value (strings in UTF-8 bytes, numbers ~1 byte per 2 digits + 1, maps 3 + 1 per entry). */
export function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/\.|e.*$/g, '').replace(/^0+/, '').length / 2) + 1;
  if (typeof value === 'boolean') return 1;
  if (value && typeof value === 'object') {
    return 3 + Object.entries(value).reduce((sum, [k, v]) => sum + Buffer.byteLength(k, 'utf8') + valueBytes(v) + 1, 0);
  }
  return 1;
}

/** What a range query projects and filters (its key condition is always a pk and an sk range). */
type RangeRead = Pick<QueryCommandInput, 'FilterExpression' | 'ProjectionExpression' | 'ExpressionAttributeNames'>;

interface SlotReading {
  readonly point: TelemetryPoint;
  readonly name: string;
  readonly value: Record<string, ReadingValue | number>;
  readonly bytes: number;
}

/** Telemetry in DynamoDB: every account, and the local default. */
export class DynamoDbTelemetryStore implements TelemetryStore {
  private readonly retentionSeconds: number;
  private readonly slotMs: number;
  private readonly groupBits: number;
  private readonly slotItemBytes: number;
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
    this.slotMs = (options.slotSeconds ?? 10) * 1000;
    this.groupBits = options.groupBits ?? 10;
    this.slotItemBytes = options.slotItemBytes ?? 4096;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.backoffMs = options.backoffMs ?? 50;
    this.concurrency = options.concurrency ?? 8;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    if (!Number.isInteger(this.groupBits) || this.groupBits < 1 || this.groupBits > 16) throw new RangeError('groupBits must be an integer in 1..16');
    if (!Number.isInteger(this.slotMs) || this.slotMs < 1000 || DAY_MS % this.slotMs !== 0) throw new RangeError('slotSeconds must divide a day');
  }

  async write(points: readonly TelemetryPoint[]): Promise<TelemetryWriteResult> {
    // One reading per (device, seq): the last one wins, as a redelivery would.
    const slots = new Map<string, Map<string, SlotReading>>();
    for (const point of points) {
      const slotStart = this.slotOf(point.ts);
      const key = `${telemetryGroup(point.deviceId, this.groupBits)}|${slotStart}`;
      const name = telemetryReadingName(point.deviceId, point.seq);
      const value = { _t: point.ts - slotStart, ...point.metrics };
      const reading: SlotReading = { point, name, value, bytes: Buffer.byteLength(name, 'utf8') + valueBytes(value) };
      let slot = slots.get(key);
      if (!slot) slots.set(key, (slot = new Map()));
      slot.delete(name);
      slot.set(name, reading);
    }
    const overflow: TelemetryPoint[] = [];
    await this.pool([...slots.values()], async (slot) => {
      overflow.push(...(await this.writeSlot([...slot.values()])));
    });
    await this.writeOverflow(overflow);
    return { rejected: [] };
  }

  /** One UpdateItem on the slot item with the readings that fit; returns those that go to overflow. */
  private async writeSlot(readings: SlotReading[]): Promise<TelemetryPoint[]> {
    // Oldest first, so that when a slot item fills up the overflow holds its newest readings.
    readings.sort((a, b) => a.point.ts - b.point.ts || a.point.seq - b.point.seq);
    const room = this.slotItemBytes - SLOT_ITEM_BASE_BYTES;
    const fitting: SlotReading[] = [];
    const overflow: TelemetryPoint[] = [];
    let bytes = 0;
    for (const reading of readings) {
      if (bytes + reading.bytes <= room && fitting.length < MAX_READINGS_PER_UPDATE) {
        fitting.push(reading);
        bytes += reading.bytes;
      } else overflow.push(reading.point);
    }
    if (fitting.length === 0) return overflow;
    const first = fitting[0]!.point;
    const slotStart = this.slotOf(first.ts);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':exp': Math.floor((slotStart + this.slotMs) / 1000) + this.retentionSeconds,
      ':added': bytes,
      ':room': room - bytes,
    };
    const sets = fitting.map((reading, i) => {
      names[`#r${i}`] = reading.name;
      values[`:r${i}`] = reading.value;
      return `#r${i} = :r${i}`;
    });
    const command = new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: telemetryGroupKey(telemetryGroup(first.deviceId, this.groupBits)), sk: telemetrySlotKey(slotStart) },
      UpdateExpression: `SET ${sets.join(', ')}, expiresAt = :exp ADD n :added`,
      ConditionExpression: 'attribute_not_exists(n) OR n <= :room',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    const full = await this.withRetry(async () => {
      try {
        await this.doc.send(command);
        return false;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return true;
        throw error;
      }
    });
    return full ? [...fitting.map((r) => r.point), ...overflow] : overflow;
  }

  /** Overflow readings, one item each, by BatchWriteItem (25 per call; UnprocessedItems retried with backoff). */
  private async writeOverflow(points: readonly TelemetryPoint[]): Promise<void> {
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
    await this.pool(chunks, (chunk) => this.writeChunk(chunk));
  }

  private async writeChunk(items: Record<string, unknown>[]): Promise<void> {
    let requests: unknown[] = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; ; attempt += 1) {
      let unprocessed: unknown[] = [];
      try {
        const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests as never } }));
        unprocessed = result.UnprocessedItems?.[this.tableName] ?? [];
      } catch (error) {
        if (!isRetryable(error) || attempt >= this.maxAttempts) {
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

  private async withRetry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        if (!isRetryable(error) || attempt >= this.maxAttempts) {
          throw new UnavailableError(`telemetry write failed: ${(error as Error).message}`, { cause: error });
        }
        await this.sleep(Math.random() * this.backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  private async pool<T>(work: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const item = work[next]!;
        next += 1;
        await run(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, work.length) }, worker));
  }

  private slotOf(ts: number): number {
    return ts - (ts % this.slotMs);
  }

  async query(query: TelemetryQuery): Promise<TelemetryPage> {
    validateQuery(query);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const start = after ? Math.max(query.from, after.ts) : query.from;
    const last = query.to - 1;
    const items: TelemetrySample[] = [];
    if (start > last) return { items };
    const pk = telemetryGroupKey(telemetryGroup(query.deviceId, this.groupBits));
    const prefix = `${telemetryDeviceKey(query.deviceId)}.`;
    const lastSlot = this.slotOf(last);
    // Window by window: a page of slot items covers [windowStart, windowEnd); the overflow
    // readings of the same window are merged in before anything of the window is returned.
    let windowStart = this.slotOf(start);
    // A device reporting every slot needs about `limit` slot items; a sparse one in a busy group
    // needs many more, so the page grows while it yields little.
    let pageSize = Math.min(MAX_SLOT_ITEMS_PER_PAGE, Math.max(16, query.limit));
    while (windowStart <= lastSlot && items.length < query.limit) {
      const before = items.length;
      const page = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
          ExpressionAttributeValues: { ':pk': pk, ':lower': telemetrySlotKey(windowStart), ':upper': telemetrySlotKey(lastSlot) },
          Limit: pageSize,
        }),
      );
      const slotItems = page.Items ?? [];
      const windowEnd = page.LastEvaluatedKey && slotItems.length > 0 ? Number(slotItems[slotItems.length - 1]!.sk) + this.slotMs : lastSlot + this.slotMs;
      const window: TelemetrySample[] = [];
      for (const item of slotItems) {
        for (const { ts, seq, reading } of slotReadings(item, prefix)) {
          const value = reading[query.metric];
          if (value !== undefined) window.push({ ts, seq, value });
        }
      }
      window.push(...(await this.overflowSamples(query, Math.max(start, windowStart), Math.min(last, windowEnd - 1))));
      window.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
      let previous: TelemetrySample | undefined;
      for (const sample of window) {
        const duplicate = previous !== undefined && previous.ts === sample.ts && previous.seq === sample.seq;
        previous = sample;
        if (duplicate || sample.ts < start || sample.ts > last) continue;
        if (after && (sample.ts < after.ts || (sample.ts === after.ts && sample.seq <= after.seq))) continue;
        items.push(sample);
        if (items.length === query.limit) break;
      }
      windowStart = windowEnd;
      if (items.length - before < (query.limit - before) / 2) pageSize = Math.min(MAX_SLOT_ITEMS_PER_PAGE, pageSize * 4);
    }
    const tail = items[items.length - 1];
    return items.length === query.limit && tail ? { items, nextCursor: encodeCursor(tail.ts, tail.seq) } : { items };
  }

  /** Readings of a device with ts in [from, to] (inclusive), of any metric, each (ts, seq) once: for read-back accounting. */
  async countReadings(deviceId: string, from: number, to: number): Promise<number> {
    const seen = new Set<string>();
    const prefix = `${telemetryDeviceKey(deviceId)}.`;
    const pk = telemetryGroupKey(telemetryGroup(deviceId, this.groupBits));
    for await (const item of this.queryRange(pk, telemetrySlotKey(this.slotOf(from)), telemetrySlotKey(this.slotOf(to)))) {
      for (const { ts, seq } of slotReadings(item, prefix)) if (ts >= from && ts <= to) seen.add(`${ts}:${seq}`);
    }
    for await (const item of this.overflowItems(deviceId, from, to, { ProjectionExpression: 'ts, seq' })) {
      seen.add(`${item.ts as number}:${item.seq as number}`);
    }
    return seen.size;
  }

  /** Overflow readings of one metric with ts in [from, last], every page of every day. */
  private async overflowSamples(query: TelemetryQuery, from: number, last: number): Promise<TelemetrySample[]> {
    const samples: TelemetrySample[] = [];
    const items = this.overflowItems(query.deviceId, from, last, {
      FilterExpression: 'attribute_exists(m.#metric)',
      ProjectionExpression: 'ts, seq, m.#metric',
      ExpressionAttributeNames: { '#metric': query.metric },
    });
    for await (const item of items) {
      const value = (item.m as Record<string, ReadingValue> | undefined)?.[query.metric];
      if (value !== undefined) samples.push({ ts: item.ts as number, seq: item.seq as number, value });
    }
    return samples;
  }

  /**
   * Overflow items of a device with ts in [from, last]: every page of every UTC day, read with
   * `read` (what to project and filter). The one place that knows how overflow keys bound a range.
   */
  private async *overflowItems(
    deviceId: string,
    from: number,
    last: number,
    read: RangeRead,
  ): AsyncGenerator<Record<string, unknown>> {
    for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= last; day += DAY_MS) {
      const upper = `${pad(Math.min(last, day + DAY_MS - 1), 15)}#~`;
      yield* this.queryRange(telemetryPartitionKey(deviceId, day), telemetrySortKey(Math.max(from, day), 0), upper, read);
    }
  }

  /** Every item of partition `pk` with sk in [lower, upper], page after page. */
  private async *queryRange(pk: string, lower: string, upper: string, read: RangeRead = {}): AsyncGenerator<Record<string, unknown>> {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
          ...read,
          ExpressionAttributeValues: { ':pk': pk, ':lower': lower, ':upper': upper },
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      yield* page.Items ?? [];
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
  }

  private async send(command: QueryCommand) {
    try {
      return await this.doc.send(command);
    } catch (error) {
      throw new UnavailableError(`telemetry query failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The readings of one device (`prefix` = its device key + '.') in a slot item. */
function* slotReadings(item: Record<string, unknown>, prefix: string): Generator<{ ts: number; seq: number; reading: Record<string, ReadingValue> }> {
  const slotStart = Number(item.sk);
  for (const [name, value] of Object.entries(item)) {
    // A longer device key can start with this one (`~a.` and `~a.b.x`): the seq holds no '.'.
    if (!name.startsWith(prefix) || name.indexOf('.', prefix.length) !== -1) continue;
    const reading = value as Record<string, ReadingValue>;
    yield { ts: slotStart + (reading._t as number), seq: parseInt(name.slice(prefix.length), 36), reading };
  }
}

function isRetryable(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'ProvisionedThroughputExceededException' || name === 'ThrottlingException' || name === 'InternalServerError';
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
