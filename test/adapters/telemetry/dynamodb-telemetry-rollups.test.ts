import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rollupPartitionKey } from '../../../src/adapters/telemetry/dynamodb-telemetry-rollups.js';
import { DynamoDbTelemetryStore, telemetryDeviceKey } from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { TELEMETRY_TABLE } from '../../../src/contracts/tables.js';
import type { ReadingValue } from '../../../src/domain/device.js';
import type { RollupResolution, TelemetryBucket } from '../../../src/domain/telemetry-rollup.js';
import { ensureTables, localTableNames } from '../../../src/local/dynamodb/dynalite.js';
import type { TelemetryPoint } from '../../../src/ports/telemetry-store.js';
import { useLocalDynamo } from '../../support/local-dynamo.js';

const dynamo = useLocalDynamo();
let tables = 0;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** "Now" of the tests: the store's clock is moved by hand. */
const NOW = Date.parse('2026-11-29T12:00:00.000Z');

async function freshTable(): Promise<string> {
  tables += 1;
  const names = localTableNames(`roll${tables}-`);
  await ensureTables(dynamo.endpoint, names, [TELEMETRY_TABLE]);
  return names[TELEMETRY_TABLE.id]!;
}

const SIZE: Record<RollupResolution, number> = { MINUTE: 60_000, HOUR, DAY };

/** The rollups a reader expects, computed here from the distinct readings (independently of the store's arithmetic). */
function recompute(points: readonly TelemetryPoint[], deviceId: string, metric: string, resolution: RollupResolution): TelemetryBucket[] {
  const distinct = new Map<string, TelemetryPoint>();
  for (const p of points) if (p.deviceId === deviceId && p.metrics[metric] !== undefined) distinct.set(`${p.ts}:${p.seq}`, p);
  const groups = new Map<number, TelemetryPoint[]>();
  for (const p of distinct.values()) {
    const start = Math.floor(p.ts / SIZE[resolution]) * SIZE[resolution];
    groups.set(start, [...(groups.get(start) ?? []), p]);
  }
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, list]) => {
      const values = list.map((p) => p.metrics[metric]!);
      const numbers = values.filter((v): v is number => typeof v === 'number');
      const last = [...list].sort((a, b) => a.ts - b.ts || a.seq - b.seq).at(-1)!.metrics[metric]!;
      return {
        start,
        count: values.length,
        ...(numbers.length > 0 && { min: Math.min(...numbers), max: Math.max(...numbers), avg: numbers.reduce((s, n) => s + n, 0) / numbers.length }),
        last,
      };
    });
}

async function allBuckets(store: DynamoDbTelemetryStore, deviceId: string, metric: string, resolution: RollupResolution, from: number, to: number) {
  const out: TelemetryBucket[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.rollups({ deviceId, metric, resolution, from, to, limit: 25, ...(cursor && { cursor }) });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

const close = (actual: TelemetryBucket[], expected: TelemetryBucket[]) => {
  expect(actual.map((b) => ({ ...b, ...(b.avg !== undefined && { avg: Math.round(b.avg * 1e6) / 1e6 }) }))).toEqual(
    expected.map((b) => ({ ...b, ...(b.avg !== undefined && { avg: Math.round(b.avg * 1e6) / 1e6 }) })),
  );
};

describe('DynamoDbTelemetryStore rollups', () => {
  it('equal a recomputation from the raw points, with late, out-of-order and redelivered readings, at every resolution', async () => {
    const devices = ['dev-a', 'dev-b', 'dev-c'];
    const reading = fc.record({
      device: fc.constantFrom(...devices),
      // Within the 7-day window before NOW, clustered on a few hours so buckets hold several readings.
      hourBack: fc.integer({ min: 0, max: 50 }),
      msInHour: fc.integer({ min: 0, max: HOUR - 1 }),
      seq: fc.integer({ min: 0, max: 400 }),
      t: fc.oneof(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -10_000, max: 10_000 }).map((n) => n / 100)),
      mode: fc.option(fc.constantFrom('eco', 'boost', true, false), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(reading, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 39 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }),
        async (raw, redelivered, clockSteps) => {
          const table = await freshTable();
          let now = NOW - 3 * DAY;
          // groupBits 1: the three devices share groups, so compaction and late recomputes mix them.
          const store = new DynamoDbTelemetryStore(dynamo.doc, table, { groupBits: 1, now: () => now, concurrency: 4 });
          // One reading per (device, seq): the device's identity of a reading.
          const unique = new Map<string, TelemetryPoint>();
          for (const r of raw) {
            const ts = NOW - (r.hourBack + 1) * HOUR + r.msInHour;
            const metrics: Record<string, ReadingValue> = { t: r.t, ...(r.mode !== undefined && { mode: r.mode }) };
            unique.set(`${r.device}:${r.seq}`, { deviceId: r.device, ts, seq: r.seq, metrics });
          }
          const points = [...unique.values()];
          // Batches in arrival order, the clock moving forward between them (so hours close and later readings are late),
          // then redeliveries of points already written.
          const batches: TelemetryPoint[][] = [];
          const perBatch = Math.ceil(points.length / clockSteps.length);
          for (let i = 0; i < points.length; i += perBatch) batches.push(points.slice(i, i + perBatch));
          batches.push(redelivered.filter((i) => i < points.length).map((i) => points[i]!));
          for (const [i, batch] of batches.entries()) {
            now = Math.min(NOW, now + (clockSteps[i] ?? 1) * DAY);
            if (batch.length > 0) await store.write(batch);
          }
          for (const deviceId of devices) {
            for (const resolution of ['MINUTE', 'HOUR', 'DAY'] as const) {
              for (const metric of ['t', 'mode']) {
                const expected = recompute(points, deviceId, metric, resolution);
                const actual = await allBuckets(store, deviceId, metric, resolution, NOW - 4 * DAY, NOW + HOUR);
                close(actual, expected);
              }
            }
          }
        },
      ),
      { numRuns: 12, endOnFailure: true },
    );
  }, 300_000);

  it('serves closed hours from rollup items, each resolution with its own expiry', async () => {
    const table = await freshTable();
    let now = NOW - 2 * HOUR;
    const store = new DynamoDbTelemetryStore(dynamo.doc, table, { now: () => now, rollupRetentionDays: { minute: 90, hour: 730, day: 1826 }, retentionDays: 30 });
    const hour = NOW - 3 * HOUR;
    await store.write([1, 2, 3].map((seq) => ({ deviceId: 'ret', ts: hour + seq * 60_000, seq, metrics: { t: seq * 10 } })));
    now = NOW;
    // A later reading of another hour closes the first one.
    await store.write([{ deviceId: 'ret', ts: NOW - 1000, seq: 9, metrics: { t: 1 } }]);

    const key = telemetryDeviceKey('ret');
    const item = async (resolution: RollupResolution) =>
      (await dynamo.doc.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': rollupPartitionKey(key, resolution, 't') } }))).Items![0]!;
    const minute = await item('MINUTE');
    const hourItem = await item('HOUR');
    const dayItem = await item('DAY');
    expect(minute.expiresAt).toBe((hour + HOUR) / 1000 + 90 * 86_400);
    const dayStart = hour - (hour % DAY);
    expect(hourItem.expiresAt).toBe((dayStart + DAY) / 1000 + 730 * 86_400);
    const weekStart = dayStart - (dayStart % (7 * DAY));
    expect(dayItem.expiresAt).toBe((weekStart + 7 * DAY) / 1000 + 1826 * 86_400);
    expect(minute.b).toEqual({ '1': [1, 10, 10, 10, 10], '2': [1, 20, 20, 20, 20], '3': [1, 30, 30, 30, 30] });
    expect((await store.rollups({ deviceId: 'ret', metric: 't', resolution: 'HOUR', from: hour, to: NOW, limit: 10 })).items).toEqual([
      { start: hour, count: 3, min: 10, max: 30, avg: 20, last: 30 },
      { start: NOW - HOUR, count: 1, min: 1, max: 1, avg: 1, last: 1 },
    ]);
  });
});
