/**
 * TelemetryStore on the Telemetry table (TELEMETRY_TABLE): raw readings packed into immutable
 * chunk items, plus rollups (dynamodb-telemetry-rollups.ts) kept by the same writes.
 *
 * Why chunks: DynamoDB bills a write at least 1 WRU (1 KB), and an UpdateItem on the larger of
 * the item before and after. One item per reading costs 1 WRU per reading; the previous layout
 * (one item per device group and 10 s slot, grown by UpdateItem) was billed on the whole item
 * at every update, ~4x the readings' bytes with 10 readings per message. So every write is a
 * new item that is never updated, billed on its own bytes only:
 *
 *   chunk item  pk = `#g<group, 4 hex>`   group = the top `groupBits` bits of MD5(deviceId). Kinesis
 *                                        puts a record on the shard owning MD5(partition key =
 *                                        thing name), so with a power-of-two shard count a group's
 *                                        devices share a shard and one Lambda batch writes their
 *                                        readings together, in few full items.
 *               sk = `<base ts, 15 digits>#<content hash>`: every reading of the item has
 *                    ts in [base, base + CHUNK_SPAN_MS), so a time range is a key range.
 *               one attribute per reading, named `<device key>.<seq, base 36>` and holding
 *               `{ _t: ms after base, <metric>: value, ... }`; w = write time (ms);
 *               expiresAt = TTL (epoch s) from the newest reading and the raw retention.
 *   The hash makes a retried batch rewrite the same keys with the same content; a reading sent
 *   again in another batch lands in another chunk, and reads keep one per (ts, seq), the copy of
 *   the latest write. Items of the two earlier layouts stay readable until they expire: slot
 *   items (sk = `<slot start, 15 digits>`, same attributes) and one item per reading
 *   (pk = `<deviceId>#<UTC day>`, sk = `<ts>#<seq>`).
 *
 *   rollup state  pk = `#g<group>`, sk = `#rollups`: c = hours before c are claimed by a
 *               compaction, w = hours before w are rolled up (both hour starts, epoch ms).
 *
 * Rollups: when a batch brings a group's first readings after an hour closed (HOUR_GRACE_MS
 * after its end), that batch rolls the group's closed hours up from the raw chunks (claim c,
 * compute, then advance w). A reading for an hour already claimed is late: its device-hour is
 * recomputed from the raw chunks right after the raw write. Rollup queries read the rollup
 * items before w and aggregate raw readings from w on, so they are exact at any moment.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, GetCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import type { ReadingValue } from '../../domain/device.js';
import { UnavailableError, ValidationError } from '../../domain/errors.js';
import {
  aggregateOf,
  aggregateSamples,
  BUCKET_MS,
  bucketStart,
  mergeAggregates,
  toBucket,
  type BucketAggregate,
  type TelemetryBucket,
} from '../../domain/telemetry-rollup.js';
import type {
  TelemetryBucketPage,
  TelemetryPage,
  TelemetryPoint,
  TelemetryQuery,
  TelemetryRollupQuery,
  TelemetrySample,
  TelemetryStore,
  TelemetryWriteResult,
} from '../../ports/telemetry-store.js';
import { isConditionalCheckFailed } from '../dynamodb/dynamo-errors.js';
import { DynamoDbRollupItems, type DeviceHourRollup, type RollupRetentionDays } from './dynamodb-telemetry-rollups.js';

/** Options of {@link DynamoDbTelemetryStore}. Changing `groupBits` hides items already written. */
export interface DynamoDbTelemetryStoreOptions {
  /** Days a raw reading is kept (TTL from its timestamp). @default 30 */
  readonly retentionDays?: number;
  /** Days each rollup resolution is kept. @default { minute: 90, hour: 730, day: 1826 } */
  readonly rollupRetentionDays?: RollupRetentionDays;
  /** Devices are hashed into 2^groupBits groups (1..16). @default 10 (1,024 groups: ~10 devices each for 10,000 devices) */
  readonly groupBits?: number;
  /** Largest chunk item, in DynamoDB item bytes (a reading larger than that gets a chunk of its own). @default 16384 */
  readonly chunkBytes?: number;
  /** Whether writes keep the rollups (off only for a reader or a tool that must not write them). @default true */
  readonly rollups?: boolean;
  /** Readings this much older than now are refused upstream; the first compaction of a group starts there. @default 7 days + 1 h */
  readonly lateWindowMs?: number;
  /** An hour is rolled up once this long after its end; readings for it arriving later are late. @default 5 min */
  readonly hourGraceMs?: number;
  /** Attempts for throttled or unprocessed writes before giving up with UnavailableError. @default 8 */
  readonly maxAttempts?: number;
  /** Base backoff in ms (doubles per attempt, full jitter). @default 50 */
  readonly backoffMs?: number;
  /** Concurrent write calls. @default 8 */
  readonly concurrency?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Every reading of a chunk item has ts in [base, base + CHUNK_SPAN_MS); a range read starts that much earlier. */
export const CHUNK_SPAN_MS = 10 * 60_000;
/** Default rollup retention in days (minute 90 d, hour 2 y, day 5 y). */
export const DEFAULT_ROLLUP_RETENTION_DAYS: RollupRetentionDays = Object.freeze({ minute: 90, hour: 730, day: 1826 });

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const BATCH = 25;
const ROLLUP_STATE_SK = '#rollups';
/** Chunk items per Query page at most: 64 x 16 KB stays within Query's 1 MB page. */
const MAX_CHUNKS_PER_PAGE = 64;
/** Bytes of a chunk item besides its readings: pk, sk, w, expiresAt (names and values). */
const CHUNK_BASE_BYTES = 2 + 6 + 2 + 32 + 1 + 8 + 9 + 6;
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The partition key of a device's one-item-per-reading readings on the day of `ts` (the first layout; read only). */
export const telemetryPartitionKey = (deviceId: string, ts: number): string =>
  `${deviceId}#${new Date(ts).toISOString().slice(0, 10)}`;

/** The sort key of one reading in the first layout. */
export const telemetrySortKey = (ts: number, seq: number): string => `${pad(ts, 15)}#${pad(seq, 16)}`;

/** The group a device's readings are packed with: the top `groupBits` bits of MD5(deviceId), as Kinesis hashes partition keys. */
export function telemetryGroup(deviceId: string, groupBits = 10): number {
  const digest = createHash('md5').update(deviceId, 'utf8').digest();
  return digest.readUInt16BE(0) >> (16 - groupBits);
}

/** The partition key of a group's chunk items. */
export const telemetryGroupKey = (group: number): string => `#g${group.toString(16).padStart(4, '0')}`;

/** The sort-key prefix of chunk items whose first reading is at `base` (epoch ms). */
export const telemetryChunkKey = (base: number): string => pad(base, 15);

/** How a device is named inside chunk items: a UUID as its 16 bytes in base64url (22 chars), anything else verbatim after `~`. */
export function telemetryDeviceKey(deviceId: string): string {
  return UUID.test(deviceId) ? Buffer.from(deviceId.replace(/-/g, ''), 'hex').toString('base64url') : `~${deviceId}`;
}

/** The attribute of one reading in a chunk item. */
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

/** One stored reading as read back: `w` orders copies of one (ts, seq), the latest write wins. */
interface StoredReading {
  readonly deviceKey: string;
  readonly ts: number;
  readonly seq: number;
  readonly w: number;
  readonly reading: Record<string, ReadingValue>;
}

interface PackedReading {
  readonly point: TelemetryPoint;
  readonly name: string;
  readonly bytes: number;
}

/** Telemetry in DynamoDB: every account, and the local default. */
export class DynamoDbTelemetryStore implements TelemetryStore {
  private readonly retentionSeconds: number;
  private readonly groupBits: number;
  private readonly chunkBytes: number;
  private readonly rollupsOn: boolean;
  private readonly lateWindowMs: number;
  private readonly hourGraceMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly rollupItems: DynamoDbRollupItems;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbTelemetryStoreOptions = {},
  ) {
    this.retentionSeconds = (options.retentionDays ?? 30) * 86_400;
    this.groupBits = options.groupBits ?? 10;
    this.chunkBytes = options.chunkBytes ?? 16_384;
    this.rollupsOn = options.rollups ?? true;
    this.lateWindowMs = options.lateWindowMs ?? 7 * DAY_MS + HOUR_MS;
    this.hourGraceMs = options.hourGraceMs ?? 5 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.backoffMs = options.backoffMs ?? 50;
    this.concurrency = options.concurrency ?? 8;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.rollupItems = new DynamoDbRollupItems(doc, tableName, options.rollupRetentionDays ?? DEFAULT_ROLLUP_RETENTION_DAYS);
    if (!Number.isInteger(this.groupBits) || this.groupBits < 1 || this.groupBits > 16) throw new RangeError('groupBits must be an integer in 1..16');
  }

  async write(points: readonly TelemetryPoint[]): Promise<TelemetryWriteResult> {
    // One reading per (device, seq) and group: the last one wins, as a redelivery would.
    const groups = new Map<number, Map<string, PackedReading>>();
    for (const point of points) {
      const group = telemetryGroup(point.deviceId, this.groupBits);
      const name = telemetryReadingName(point.deviceId, point.seq);
      const bytes = Buffer.byteLength(name, 'utf8') + valueBytes({ _t: CHUNK_SPAN_MS, ...point.metrics });
      let readings = groups.get(group);
      if (!readings) groups.set(group, (readings = new Map()));
      readings.delete(name);
      readings.set(name, { point, name, bytes });
    }
    const writtenAt = this.now();
    const items: Record<string, unknown>[] = [];
    for (const [group, readings] of groups) items.push(...this.chunks(group, [...readings.values()], writtenAt));
    const calls: Record<string, unknown>[][] = [];
    for (let i = 0; i < items.length; i += BATCH) calls.push(items.slice(i, i + BATCH));
    await this.pool(calls, (chunk) => this.writeChunk(chunk));
    if (this.rollupsOn) {
      await this.pool([...groups.entries()], ([group, readings]) => this.maintainRollups(group, [...readings.values()].map((r) => r.point)));
    }
    return { rejected: [] };
  }

  /** A group's readings of one write as chunk items: time-ordered, each within CHUNK_SPAN_MS and `chunkBytes`. */
  private chunks(group: number, readings: PackedReading[], writtenAt: number): Record<string, unknown>[] {
    readings.sort((a, b) => a.point.ts - b.point.ts || a.point.seq - b.point.seq);
    const items: Record<string, unknown>[] = [];
    let current: PackedReading[] = [];
    let bytes = CHUNK_BASE_BYTES;
    const flush = () => {
      if (current.length === 0) return;
      const base = current[0]!.point.ts;
      const hash = createHash('sha1');
      const item: Record<string, unknown> = { pk: telemetryGroupKey(group), w: writtenAt };
      for (const { point, name } of current) {
        hash.update(name).update('\0').update(String(point.ts)).update('\0').update(JSON.stringify(point.metrics)).update('\0');
        item[name] = { _t: point.ts - base, ...point.metrics };
      }
      item.sk = `${telemetryChunkKey(base)}#${hash.digest('base64url').slice(0, 16)}`;
      item.expiresAt = Math.floor(current[current.length - 1]!.point.ts / 1000) + this.retentionSeconds;
      items.push(item);
      current = [];
      bytes = CHUNK_BASE_BYTES;
    };
    for (const reading of readings) {
      const base = current[0]?.point.ts;
      if (base !== undefined && (reading.point.ts >= base + CHUNK_SPAN_MS || bytes + reading.bytes > this.chunkBytes)) flush();
      current.push(reading);
      bytes += reading.bytes;
    }
    flush();
    return items;
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

  // ------------------------------------------------------------------ rollups, write side

  /**
   * After a group's raw write: roll up the hours that closed since the last compaction, then
   * recompute the device-hours this write reached that were already claimed (late readings).
   * The order matters: the raw write happens before the state is read, and a compaction claims
   * before it reads the raw chunks, so every reading is seen by one or the other.
   */
  private async maintainRollups(group: number, points: readonly TelemetryPoint[]): Promise<void> {
    const now = this.now();
    const close = now - this.hourGraceMs - ((now - this.hourGraceMs) % HOUR_MS);
    const state = await this.rollupState(group, true);
    const done = state.w ?? Math.max(0, now - this.lateWindowMs - ((now - this.lateWindowMs) % HOUR_MS));
    let claimed = state.c ?? done;
    let compacted: [number, number] | undefined;
    if (done < close) {
      if (await this.claim(group, close)) {
        claimed = Math.max(claimed, close);
        await this.compact(group, done, close);
        await this.markDone(group, close);
        compacted = [done, close];
      } else {
        claimed = Math.max(claimed, (await this.rollupState(group, true)).c ?? close);
      }
    }
    const late = new Map<number, Set<string>>();
    for (const point of points) {
      if (point.ts >= claimed || (compacted && point.ts >= compacted[0] && point.ts < compacted[1])) continue;
      const hour = point.ts - (point.ts % HOUR_MS);
      let devices = late.get(hour);
      if (!devices) late.set(hour, (devices = new Set()));
      devices.add(telemetryDeviceKey(point.deviceId));
    }
    for (const [hour, devices] of [...late.entries()].sort((a, b) => a[0] - b[0])) {
      await this.compact(group, hour, hour + HOUR_MS, devices);
    }
  }

  /** The group's rollup state (c: claimed up to, w: rolled up to). */
  private async rollupState(group: number, consistent: boolean): Promise<{ c?: number; w?: number }> {
    try {
      const { Item } = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: telemetryGroupKey(group), sk: ROLLUP_STATE_SK }, ConsistentRead: consistent }),
      );
      return { ...(typeof Item?.c === 'number' && { c: Item.c }), ...(typeof Item?.w === 'number' && { w: Item.w }) };
    } catch (error) {
      throw new UnavailableError(`telemetry rollup state read failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Claims the hours before `close`; false when another compaction claimed beyond it. */
  private async claim(group: number, close: number): Promise<boolean> {
    return this.setState(group, 'c', close, 'attribute_not_exists(c) OR c <= :v');
  }

  private async markDone(group: number, close: number): Promise<void> {
    await this.setState(group, 'w', close, 'attribute_not_exists(w) OR w < :v');
  }

  private async setState(group: number, name: 'c' | 'w', value: number, condition: string): Promise<boolean> {
    try {
      await this.withRetry(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: telemetryGroupKey(group), sk: ROLLUP_STATE_SK },
            UpdateExpression: `SET ${name} = :v`,
            ConditionExpression: condition,
            ExpressionAttributeValues: { ':v': value },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed((error as { cause?: unknown }).cause ?? error)) return false;
      throw error;
    }
  }

  /**
   * Rolls up [from, to) of a group (whole hours) from its raw chunks, streaming: an hour is
   * written as soon as a chunk based after it shows up, so memory holds about an hour.
   * `devices` (device keys) limits it to those devices.
   */
  private async compact(group: number, from: number, to: number, devices?: ReadonlySet<string>): Promise<void> {
    // hour start -> device key -> deviceId-less readings, each (ts, seq) once (latest write)
    const hours = new Map<number, Map<string, Map<string, StoredReading>>>();
    const flush = async (before: number) => {
      const ready = [...hours.keys()].filter((h) => h + HOUR_MS <= before).sort((a, b) => a - b);
      for (const hour of ready) {
        const byDevice = hours.get(hour)!;
        hours.delete(hour);
        const rollups: DeviceHourRollup[] = [];
        for (const [deviceKey, readings] of byDevice) rollups.push(...deviceHourRollups(deviceKey, hour, readings.values()));
        const failures = (await Promise.allSettled(rollups.map((r) => this.limit(() => this.rollupItems.write(r))))).filter((r) => r.status === 'rejected');
        if (failures.length > 0) throw (failures[0] as PromiseRejectedResult).reason;
      }
    };
    for await (const stored of this.groupReadings(group, from, to - 1, { consistent: true })) {
      if (devices && !devices.has(stored.deviceKey)) continue;
      const hour = stored.ts - (stored.ts % HOUR_MS);
      let byDevice = hours.get(hour);
      if (!byDevice) hours.set(hour, (byDevice = new Map()));
      let readings = byDevice.get(stored.deviceKey);
      if (!readings) byDevice.set(stored.deviceKey, (readings = new Map()));
      keepLatest(readings, stored);
      if (hours.size > 1) await flush(stored.chunkBase);
    }
    await flush(Number.MAX_SAFE_INTEGER);
  }

  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Bounds concurrent rollup writes across all groups to `concurrency`. */
  private async limit<T>(run: () => Promise<T>): Promise<T> {
    while (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await run();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }

  private async withRetry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        if (isConditionalCheckFailed(error)) throw error;
        if (!isRetryable(error) || attempt >= this.maxAttempts) {
          throw new UnavailableError(`telemetry write failed: ${(error as Error).message}`, { cause: error });
        }
        await this.sleep(Math.random() * this.backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  // ------------------------------------------------------------------ reads

  async query(query: TelemetryQuery): Promise<TelemetryPage> {
    validateQuery(query);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const start = after ? Math.max(query.from, after.ts) : query.from;
    const last = query.to - 1;
    const items: TelemetrySample[] = [];
    if (start > last) return { items };
    const key = telemetryDeviceKey(query.deviceId);
    for await (const sample of this.deviceSamples(query.deviceId, key, query.metric, start, last, Math.min(MAX_CHUNKS_PER_PAGE, Math.max(16, query.limit)))) {
      if (after && (sample.ts < after.ts || (sample.ts === after.ts && sample.seq <= after.seq))) continue;
      items.push(sample);
      if (items.length === query.limit) break;
    }
    const tail = items[items.length - 1];
    return items.length === query.limit && tail ? { items, nextCursor: encodeCursor(tail.ts, tail.seq) } : { items };
  }

  async rollups(query: TelemetryRollupQuery): Promise<TelemetryBucketPage> {
    validateQuery(query);
    const { resolution } = query;
    const size = BUCKET_MS[resolution];
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor).ts;
    const first = Math.max(bucketStart(query.from, resolution), after === undefined ? 0 : after + size);
    const end = query.to;
    const buckets: TelemetryBucket[] = [];
    if (first >= end) return { items: buckets };
    const state = await this.rollupState(telemetryGroup(query.deviceId, this.groupBits), false);
    // Buckets that end by w are stored; from w on, raw readings are aggregated. The day holding
    // w is made of its stored HOUR buckets before w plus the raw readings after (its stored DAY
    // bucket may already hold hours of a compaction still under way).
    const w = state.w ?? first;
    const key = telemetryDeviceKey(query.deviceId);
    const wDay = bucketStart(w, 'DAY');
    const storedTo = Math.min(end, resolution === 'DAY' ? wDay : w);
    const stored = await this.rollupItems.read(key, query.metric, resolution, first, storedTo, query.limit + 1);
    const merged = new Map<number, BucketAggregate>(stored);
    if (resolution === 'DAY' && w > wDay && wDay >= first && wDay < end && stored.length <= query.limit) {
      for (const [, hour] of await this.rollupItems.read(key, query.metric, 'HOUR', wDay, w, 24)) {
        const current = merged.get(wDay);
        merged.set(wDay, current ? mergeAggregates(current, hour) : hour);
      }
    }
    if (stored.length <= query.limit && end > w) {
      const rawFrom = Math.max(first, w);
      const rawTo = bucketStart(end - 1, resolution) + size;
      const samples = this.deviceSamples(query.deviceId, key, query.metric, rawFrom, rawTo - 1, MAX_CHUNKS_PER_PAGE);
      const buffered: TelemetrySample[] = [];
      for await (const sample of samples) buffered.push(sample);
      for (const [start, aggregate] of aggregateSamples(buffered, resolution)) {
        const current = merged.get(start);
        merged.set(start, current ? mergeAggregates(current, aggregate) : aggregate);
      }
    }
    const ordered = [...merged.entries()].filter(([start]) => start >= first && start < end).sort((a, b) => a[0] - b[0]);
    for (const [start, aggregate] of ordered.slice(0, query.limit)) buckets.push(toBucket(start, aggregate));
    const tail = buckets[buckets.length - 1];
    return ordered.length > query.limit && tail ? { items: buckets, nextCursor: encodeCursor(tail.start, 0) } : { items: buckets };
  }

  /** Readings of a device with ts in [from, to] (inclusive), of any metric, each (ts, seq) once: for read-back accounting. */
  async countReadings(deviceId: string, from: number, to: number): Promise<number> {
    const seen = new Set<string>();
    const key = telemetryDeviceKey(deviceId);
    for await (const stored of this.groupReadings(telemetryGroup(deviceId, this.groupBits), from, to, {})) {
      if (stored.deviceKey === key) seen.add(`${stored.ts}:${stored.seq}`);
    }
    for await (const item of this.overflowItems(deviceId, from, to, { ProjectionExpression: 'ts, seq' })) {
      seen.add(`${item.ts as number}:${item.seq as number}`);
    }
    return seen.size;
  }

  /**
   * One metric of one device with ts in [from, last], ascending by (ts, seq), each (ts, seq)
   * once (the latest write's copy), chunk items and first-layout items merged. Window by
   * window: after a page of chunks based up to B, no later chunk holds a reading before B.
   */
  private async *deviceSamples(deviceId: string, key: string, metric: string, from: number, last: number, pageSize: number): AsyncGenerator<TelemetrySample> {
    const pending = new Map<string, StoredReading & { value: ReadingValue }>();
    let emittedUpTo = from;
    const drain = async function* (this: DynamoDbTelemetryStore, before: number): AsyncGenerator<TelemetrySample> {
      if (before <= emittedUpTo) return;
      const overflow = await this.overflowSamples(deviceId, metric, emittedUpTo, Math.min(last, before - 1));
      for (const sample of overflow) {
        const id = `${sample.ts}:${sample.seq}`;
        if (!pending.has(id)) pending.set(id, { deviceKey: key, ts: sample.ts, seq: sample.seq, w: -1, reading: {}, value: sample.value });
      }
      const ready = [...pending.values()].filter((s) => s.ts < before).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
      for (const s of ready) {
        pending.delete(`${s.ts}:${s.seq}`);
        yield { ts: s.ts, seq: s.seq, value: s.value };
      }
      emittedUpTo = before;
    };
    for await (const { stored, frontier } of this.groupPages(telemetryGroup(deviceId, this.groupBits), from, last, pageSize, {})) {
      for (const s of stored) {
        if (s.deviceKey !== key) continue;
        const value = s.reading[metric];
        if (value === undefined) continue;
        const id = `${s.ts}:${s.seq}`;
        const current = pending.get(id);
        if (!current || s.w > current.w) pending.set(id, { ...s, value });
      }
      yield* drain.call(this, frontier);
    }
    yield* drain.call(this, last + 1);
  }

  /** Every reading of a group with ts in [from, last], in chunk order (not deduplicated). */
  private async *groupReadings(group: number, from: number, last: number, options: { consistent?: boolean }): AsyncGenerator<StoredReading & { chunkBase: number }> {
    for await (const { stored } of this.groupPages(group, from, last, MAX_CHUNKS_PER_PAGE, options)) yield* stored;
  }

  /**
   * Pages of a group's chunk items that can hold readings in [from, last]; `frontier`: no later
   * page holds a reading before it.
   */
  private async *groupPages(
    group: number,
    from: number,
    last: number,
    pageSize: number,
    options: { consistent?: boolean },
  ): AsyncGenerator<{ stored: Array<StoredReading & { chunkBase: number }>; frontier: number }> {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    let size = pageSize;
    do {
      const page = await this.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
          ExpressionAttributeValues: { ':pk': telemetryGroupKey(group), ':lower': telemetryChunkKey(Math.max(0, from - CHUNK_SPAN_MS + 1)), ':upper': `${telemetryChunkKey(last)}~` },
          ExclusiveStartKey: exclusiveStartKey,
          Limit: size,
          ...(options.consistent && { ConsistentRead: true }),
        }),
      );
      const stored: Array<StoredReading & { chunkBase: number }> = [];
      let base = from;
      for (const item of page.Items ?? []) {
        base = Number(String(item.sk).slice(0, 15));
        for (const reading of chunkReadings(item, base)) if (reading.ts >= from && reading.ts <= last) stored.push({ ...reading, chunkBase: base });
      }
      exclusiveStartKey = page.LastEvaluatedKey;
      yield { stored, frontier: exclusiveStartKey ? base : last + 1 };
      // A sparse device in a busy group needs many chunks per sample: grow the page.
      size = Math.min(MAX_CHUNKS_PER_PAGE, size * 2);
    } while (exclusiveStartKey);
  }

  /** First-layout readings of one metric with ts in [from, last], every page of every day. */
  private async overflowSamples(deviceId: string, metric: string, from: number, last: number): Promise<TelemetrySample[]> {
    const samples: TelemetrySample[] = [];
    if (from > last) return samples;
    const items = this.overflowItems(deviceId, from, last, {
      FilterExpression: 'attribute_exists(m.#metric)',
      ProjectionExpression: 'ts, seq, m.#metric',
      ExpressionAttributeNames: { '#metric': metric },
    });
    for await (const item of items) {
      const value = (item.m as Record<string, ReadingValue> | undefined)?.[metric];
      if (value !== undefined) samples.push({ ts: item.ts as number, seq: item.seq as number, value });
    }
    return samples;
  }

  /**
   * First-layout items of a device with ts in [from, last]: every page of every UTC day, read
   * with `read` (what to project and filter).
   */
  private async *overflowItems(deviceId: string, from: number, last: number, read: RangeRead): AsyncGenerator<Record<string, unknown>> {
    for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= last; day += DAY_MS) {
      const upper = `${pad(Math.min(last, day + DAY_MS - 1), 15)}#~`;
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
            ...read,
            ExpressionAttributeValues: { ':pk': telemetryPartitionKey(deviceId, day), ':lower': telemetrySortKey(Math.max(from, day), 0), ':upper': upper },
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        yield* page.Items ?? [];
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
    }
  }

  private async send(command: QueryCommand) {
    try {
      return await this.doc.send(command);
    } catch (error) {
      throw new UnavailableError(`telemetry query failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The readings of a chunk item (or an earlier-layout slot item, whose sk is its base alone). */
function* chunkReadings(item: Record<string, unknown>, base: number): Generator<StoredReading> {
  const w = typeof item.w === 'number' ? item.w : 0;
  for (const [name, value] of Object.entries(item)) {
    const dot = name.lastIndexOf('.');
    if (dot <= 0 || typeof value !== 'object' || value === null) continue;
    const { _t, ...reading } = value as Record<string, ReadingValue>;
    yield { deviceKey: name.slice(0, dot), ts: base + (_t as number), seq: parseInt(name.slice(dot + 1), 36), w, reading };
  }
}

function keepLatest(readings: Map<string, StoredReading>, stored: StoredReading): void {
  const id = `${stored.ts}:${stored.seq}`;
  const current = readings.get(id);
  if (!current || stored.w > current.w) readings.set(id, stored);
}

/** One device-hour's readings as minute aggregates, one rollup per metric. */
function deviceHourRollups(deviceKey: string, hourStart: number, readings: Iterable<StoredReading>): DeviceHourRollup[] {
  const metrics = new Map<string, Map<number, BucketAggregate>>();
  const ordered = [...readings].sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  for (const { ts, seq, reading } of ordered) {
    const minute = Math.floor((ts - hourStart) / 60_000);
    for (const [metric, value] of Object.entries(reading)) {
      let minutes = metrics.get(metric);
      if (!minutes) metrics.set(metric, (minutes = new Map()));
      const one = aggregateOf(ts, seq, value);
      const current = minutes.get(minute);
      minutes.set(minute, current ? mergeAggregates(current, one) : one);
    }
  }
  return [...metrics.entries()].map(([metric, minutes]) => ({ deviceKey, metric, hourStart, minutes }));
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
