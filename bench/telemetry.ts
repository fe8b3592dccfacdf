/**
 * npm run bench:telemetry — what a 30-day chart of one metric reads at HOUR against RAW, and what
 * the rollups cost to keep, on the DynamoDB telemetry store at the reference load.
 *
 * Reference load: 10,000 devices x 1 message / 10 s; with the store's 1,024 device groups a
 * group holds ~10 devices, whose readings share chunk items. The bench writes `--days` (30) days
 * of one group's 10 devices through the real store against dynalite, one write per 60 s
 * (the ingest default batch window; `--batch-seconds`), the store's clock at the batch's end so
 * hours close and are rolled up as they would be. Only the charted device's rollups are kept
 * (its 9 group mates are written, hour by hour, after that hour was rolled up, by a store
 * without rollups): a chart reads only its device's rollups, and 30 days of rollups for 10
 * devices are ~86,000 conditional writes, too many for dynalite on a shared machine. Every call asks for ReturnConsumedCapacity
 * (bench/telemetry-capacity.ts). Then one device's chart of one metric over the last 30 days is
 * read at RAW (the baseline: the readings themselves) and at HOUR, MINUTE and DAY, counting the
 * items each read and the read units it consumed. Printed: items and read units per resolution,
 * the HOUR/RAW ratios (target >= 50), and the rollups' write cost per million messages.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DynamoDbTelemetryStore, telemetryGroup, telemetryGroupKey } from '../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { TELEMETRY_TABLE } from '../src/contracts/tables.js';
import type { RollupResolution } from '../src/domain/telemetry-rollup.js';
import { ensureTables, startDynalite } from '../src/local/dynamodb/dynalite.js';
import type { TelemetryPoint } from '../src/ports/telemetry-store.js';
import { PRICES } from './prices.js';
import { capacityCountingClient, total, type CapacityCounts } from './telemetry-capacity.js';

const DEVICES = 10_000;
const GROUP_BITS = 10;
const INTERVAL_MS = 10_000;
const BATCH_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

async function main(): Promise<void> {
  const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const days = Number(flag('days') ?? 30);
  const batchMs = Number(flag('batch-seconds') ?? 60) * 1000;
  const started = performance.now();
  const child = fork(fileURLToPath(import.meta.url), ['--dynamo'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoint = await new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))));
  const table = capacityCountingClient(endpoint);
  try {
    // One device group of the reference fleet: the devices whose MD5 falls in group 0.
    const perGroup = Math.round(DEVICES / 2 ** GROUP_BITS);
    const devices: string[] = [];
    while (devices.length < perGroup) {
      const id = randomUUID();
      if (telemetryGroup(id, GROUP_BITS) === 0) devices.push(id);
    }
    const rng = seededRandom(7);
    const phase = devices.map(() => Math.floor(rng() * INTERVAL_MS));
    const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const start = end - days * DAY_MS;
    let clock = start;
    const store = new DynamoDbTelemetryStore(table.doc, 'Telemetry', { groupBits: GROUP_BITS, now: () => clock, lateWindowMs: (days + 1) * DAY_MS });
    // The charted device's group mates: their readings share its chunk items (what a RAW chart reads),
    // written without rollups of their own (see the file comment).
    const mates = new DynamoDbTelemetryStore(table.doc, 'Telemetry', { groupBits: GROUP_BITS, rollups: false });
    // Steady state: the hours before the range are rolled up already.
    await table.doc.send(new PutCommand({ TableName: 'Telemetry', Item: { pk: telemetryGroupKey(0), sk: '#rollups', c: start, w: start } }));
    table.reset();

    const seq = devices.map(() => 0);
    const readingsOf = (d: number, from: number, to: number): TelemetryPoint[] => {
      const points: TelemetryPoint[] = [];
      for (let ts = from + ((((phase[d]! - from) % INTERVAL_MS) + INTERVAL_MS) % INTERVAL_MS); ts < to; ts += INTERVAL_MS) {
        seq[d]! += 1;
        points.push({
          deviceId: devices[d]!,
          ts,
          seq: seq[d]!,
          metrics: { temperature: Math.round((18 + rng() * 8) * 100) / 100, humidity: Math.round(rng() * 1000) / 10, battery: Math.round((3.4 + rng() * 0.8) * 100) / 100, door: rng() < 0.1 },
        });
      }
      return points;
    };
    // Hour by hour: the charted device in batches of `batchMs` (its rollups happen as in the ingest
    // path: hour h is rolled up by the first batch 5 min after its end), then its mates' readings of
    // the hour before, once that hour was rolled up, in batches of the same length.
    let messages = 0;
    let charted = 0;
    const writeStarted = performance.now();
    const writeMates = async (hour: number) => {
      for (let from = hour; from < hour + HOUR_MS; from += batchMs) {
        const points = devices.slice(1).flatMap((_, i) => readingsOf(i + 1, from, from + batchMs));
        messages += points.length;
        if (points.length > 0) await mates.write(points);
      }
    };
    const last = end + 6 * 60_000;
    for (let hour = start; hour < last; hour += HOUR_MS) {
      for (let from = hour; from < Math.min(hour + HOUR_MS, last); from += batchMs) {
        const points = readingsOf(0, from, from + batchMs);
        clock = from + batchMs;
        messages += points.length;
        charted += points.length;
        if (points.length > 0) await store.write(points);
      }
      if (hour > start) await writeMates(hour - HOUR_MS);
    }
    const written = table.counts();
    const writeSeconds = (performance.now() - writeStarted) / 1000;

    // Read: one device, one metric, the last 30 days (or --days), every page.
    const chart = async (resolution: RollupResolution | 'RAW') => {
      table.reset();
      let cursor: string | undefined;
      let points = 0;
      do {
        const query = { deviceId: devices[0]!, metric: 'temperature', from: start, to: end, limit: 1000, ...(cursor && { cursor }) };
        const page = resolution === 'RAW' ? await store.query(query) : await store.rollups({ ...query, resolution });
        points += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
      return { points, counts: table.counts() };
    };
    const raw = await chart('RAW');
    const hour = await chart('HOUR');
    const minute = await chart('MINUTE');
    const day = await chart('DAY');

    // Items read: what the Query and GetItem calls returned, counted by dynalite's consumed capacity and by the store's calls.
    const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const out: string[] = [];
    out.push(`Telemetry chart bench: DynamoDB store, reference load ${DEVICES.toLocaleString()} devices x 1 msg / ${INTERVAL_MS / 1000} s, ${2 ** GROUP_BITS} device groups (${perGroup} devices in the group written)`);
    out.push(`Wrote ${days} days of that group: ${messages.toLocaleString()} messages (${f(messages / perGroup / (days * 24), 0)} per device-hour), one write per ${batchMs / 1000} s batch${batchMs === BATCH_MS ? ' (the ingest default window)' : ` (--batch-seconds; the ingest default is ${BATCH_MS / 1000} s, whose smaller chunks make RAW read more items)`} (${f(writeSeconds, 1)} s against dynalite)`);
    out.push('');
    out.push(`A ${days}-day chart of one metric of one device (every page, limit 1000):`);
    out.push('  resolution      points   calls   items read   read units');
    const row = (name: string, r: { points: number; counts: CapacityCounts }) =>
      out.push(`  ${name.padEnd(12)} ${f(r.points).padStart(9)} ${f(total(r.counts, 'calls')).padStart(7)} ${f(total(r.counts, 'items')).padStart(12)} ${f(total(r.counts, 'readUnits'), 1).padStart(12)}`);
    // Items read: every item each Query scanned (chunk items for RAW; rollup items, plus the rollup state item and any raw chunks after it, otherwise).
    const rawItems = total(raw.counts, 'items');
    const hourItems = total(hour.counts, 'items');
    row('RAW (base)', raw);
    row('MINUTE', minute);
    row('HOUR', hour);
    row('DAY', day);
    const itemRatio = rawItems / hourItems;
    const unitRatio = total(raw.counts, 'readUnits') / total(hour.counts, 'readUnits');
    out.push(`HOUR vs RAW: ${f(itemRatio, 1)}x fewer items, ${f(unitRatio, 1)}x fewer read units (target >= 50: ${Math.min(itemRatio, unitRatio) >= 50 ? 'MET' : 'MISSED'})`);
    out.push('');
    // Rollup writes are per device: those of the charted device over its messages. Raw chunk writes over all messages.
    const perM = (units: number, of: number, price: number) => (units / of) * 1e6 * price;
    const rollupWrites = written['rollup-items'].writeUnits + written['rollup-state'].writeUnits;
    const rollupUsd = perM(rollupWrites, charted, PRICES.dynamoWriteUnit.usd);
    const chunkUsd = perM(written.chunks.writeUnits, messages, PRICES.dynamoWriteUnit.usd);
    out.push(`Write cost per million messages, counted over the ${days} days written (DynamoDB on-demand, bench/prices.ts):`);
    out.push(`  raw chunk items (baseline: the readings alone)   ${f(perM(written.chunks.writeUnits, messages, 1), 0).padStart(9)} WRU   $${f(chunkUsd, 4)}`);
    out.push(`  rollup writes (MINUTE/HOUR/DAY items + state)    ${f(perM(rollupWrites, charted, 1), 0).padStart(9)} WRU   $${f(rollupUsd, 4)}  (${written['rollup-items'].calls} writes for ${f(charted / 360, 0)} device-hours)`);
    out.push(`rollups' write cost: $${f(rollupUsd, 4)} per million messages (their reads of raw chunks and state: bench:ingest, on a full group)`);
    out.push(`(ran in ${f((performance.now() - started) / 1000, 1)} s)`);
    console.log(out.join('\n'));
  } finally {
    table.destroy();
    child.disconnect();
  }
}

if (process.argv.includes('--dynamo')) {
  const dynamo = await startDynalite();
  await ensureTables(dynamo.endpoint, { [TELEMETRY_TABLE.id]: 'Telemetry' }, [TELEMETRY_TABLE]);
  process.send?.(dynamo.endpoint);
  process.on('disconnect', () => void dynamo.stop().then(() => process.exit(0)));
} else {
  await main();
}
