/**
 * npm run bench:alarms — what alarm rules add to the ingest path, per million messages.
 *
 * Fleet: 10,000 devices x 1 message / 10 s, 3 rules on every device (temperature above 30 for
 * 300 s with a clear threshold, humidity below 15 for 3 readings, no data for 600 s). The cloud
 * batches 60 s per shard over 8 shards, so one ingest invocation holds ~6 messages of each of
 * its ~1,250 devices: one shard's slice (`--devices=1250`) is simulated for `--minutes` (default
 * 10) of stream time, as bench:ingest does.
 *
 * The sweep runs as one warm container would: its first sweep reads every device's silence, later
 * ones only the devices that can be due (see src/alarms/alarm-sweep.ts).
 *
 * Cost: the real evaluator and sweep run against the Alarms and Devices tables in dynalite with
 * every request asking for its consumed capacity (what DynamoDB bills on demand: read units of
 * eventually consistent Queries, write units of transitions), summed by a client middleware.
 * Each transition also costs its notification fan-out (alarm-events Lambda, history PutItem,
 * EventBridge PutEvents, SNS Publish, AppSync mutation, IoT publish): counted per transition.
 *
 * CPU: the real ingest handler runs the same batches over in-memory ports (so only the
 * handler's own work is timed), once without rules (the baseline, measured in this same run)
 * and once with the evaluator over the in-memory alarm store, alternating rounds.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createDocumentClient } from '../src/adapters/dynamodb/client.js';
import { DynamoDbAlarmStore } from '../src/adapters/dynamodb/alarm-store.js';
import { DynamoDbDeviceRepository } from '../src/adapters/dynamodb/device-repository.js';
import { DynamoDbDeviceStateWriter } from '../src/adapters/dynamodb/device-state-writer.js';
import { InMemoryAlarmStore } from '../src/adapters/memory/in-memory-alarm-store.js';
import { InMemoryDeadLetterQueue } from '../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { AlarmEvaluation } from '../src/alarms/alarm-evaluation.js';
import type { AlarmReading } from '../src/alarms/alarm-evaluator.js';
import type { AlarmRule, AlarmRuleInput } from '../src/alarms/alarm-rule.js';
import { validateRuleInput } from '../src/alarms/alarm-rule.js';
import type { AlarmStore } from '../src/alarms/alarm-store.js';
import { SilenceSchedule, sweepAlarms } from '../src/alarms/alarm-sweep.js';
import { DynamoDbDeviceSilenceSource } from '../src/adapters/dynamodb/device-silence-source.js';
import { CachedRules } from '../src/alarms/rule-cache.js';
import { ALARM_SWEEP_INTERVAL_SECONDS } from '../src/contracts/alarms.js';
import { DEFAULT_INGEST_SETTINGS, DEFAULT_INGEST_SHARD_COUNT } from '../src/contracts/ingest-settings.js';
import { ALARMS_TABLE, DEVICES_TABLE } from '../src/contracts/tables.js';
import { createIngestHandler } from '../src/devices/ingest-handler.js';
import { kinesisRecordFor } from '../src/devices/kinesis-event.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, localTableNames, startDynalite } from '../src/local/dynamodb/dynalite.js';
import type { DeviceStateWriter } from '../src/ports/device-state-writer.js';
import type { TelemetryWriter } from '../src/ports/telemetry-store.js';
import { capacityCountingClient, emptyCapacityTally, type CapacityTally } from './capacity-counting-client.js';
import { PRICES } from './prices.js';

const FLEET = 10_000;
const MESSAGE_INTERVAL_S = 10;
const MESSAGES_PER_MONTH = (FLEET / MESSAGE_INTERVAL_S) * 3600 * 24 * 30;
const RULES_PER_DEVICE = 3;
/** Subscribers a transition is delivered to live: the two gRPC tasks' IoT subscriptions. */
const GRPC_TASKS = 2;
/** Target: extra dollars per million messages. */
const TARGET_PER_MILLION = 0.02;
/**
 * A realistic alarm rate for the fleet: each of the 30,000 alarms (3 rules x 10,000 devices)
 * goes through one episode a week, ACTIVE -> ACKNOWLEDGED -> NORMAL (3 transitions), against
 * 60,480 messages per device a week: 9 / 60,480 = 149 transitions per million messages.
 */
const REALISTIC_TRANSITIONS_PER_MILLION = ((RULES_PER_DEVICE * 3) / ((7 * 86_400) / MESSAGE_INTERVAL_S)) * 1e6;
const REALISTIC_RATE_REASON =
  'one episode (ACTIVE, ACKNOWLEDGED, NORMAL) per alarm per week. That is ~4,300 activations a day for the fleet, the load of 15-30 operators at ' +
  'the 150-300 alarms per operator-day that ISA-18.2 calls acceptable to manageable; an alarm firing more often than weekly on every device is noise ' +
  'to tune, not a rate to plan for. The synthetic run above fires 2% of devices in 10 minutes on purpose, to exercise the evaluator.';

const { values: args } = parseArgs({
  options: { devices: { type: 'string', default: String(FLEET / DEFAULT_INGEST_SHARD_COUNT) }, minutes: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } },
});
const DEVICES = Number(args.devices);
const MINUTES = Number(args.minutes);
const ROUNDS = Number(args.rounds);
const WINDOW_S = DEFAULT_INGEST_SETTINGS.batchWindowSeconds;

// ------------------------------------------------------------------ fleet and its readings

const RULES: AlarmRuleInput[] = [
  {
    name: 'boiler too hot',
    severity: 'HIGH',
    target: { kind: 'DEVICE_TYPE', deviceType: 'boiler' },
    condition: { kind: 'THRESHOLD', metric: 'temperature', operator: 'GT', threshold: 30, clearThreshold: 28, forSeconds: 300 },
  },
  { name: 'too dry', severity: 'MEDIUM', target: { kind: 'ALL' }, condition: { kind: 'THRESHOLD', metric: 'humidity', operator: 'LT', threshold: 15, consecutive: 3 } },
  { name: 'silent', severity: 'LOW', target: { kind: 'ALL' }, condition: { kind: 'NO_DATA', seconds: 600 } },
];

/** Deterministic pseudo-random numbers, so every run sees the same fleet. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One batch window of readings per device: ~2% of devices overheat for a few minutes and ~1%
 * dry out, so alarms fire and clear at a plausible rate; the rest hover in the normal band.
 */
function fleetReadings(ids: readonly string[], start: number): Array<Map<string, AlarmReading[]>> {
  const rnd = random(7);
  const hot = new Set(ids.filter(() => rnd() < 0.02));
  const dry = new Set(ids.filter(() => rnd() < 0.01));
  const seq = new Map<string, number>();
  const batches: Array<Map<string, AlarmReading[]>> = [];
  const perWindow = WINDOW_S / MESSAGE_INTERVAL_S;
  for (let w = 0; w < (MINUTES * 60) / WINDOW_S; w += 1) {
    const batch = new Map<string, AlarmReading[]>();
    for (const [index, id] of ids.entries()) {
      const readings: AlarmReading[] = [];
      for (let k = 0; k < perWindow; k += 1) {
        const ts = start + (w * WINDOW_S + k * MESSAGE_INTERVAL_S) * 1000 + (index % 10) * 1000;
        const minute = (w * WINDOW_S + k * MESSAGE_INTERVAL_S) / 60;
        const overheating = hot.has(id) && minute >= 2 && minute < 9;
        const drying = dry.has(id) && minute >= 4 && minute < 6;
        const s = (seq.get(id) ?? 0) + 1;
        seq.set(id, s);
        readings.push({ ts, seq: s, metrics: { temperature: (overheating ? 33 : 22) + rnd() * 2, humidity: (drying ? 10 : 40) + rnd() * 4 } });
      }
      batch.set(id, readings);
    }
    batches.push(batch);
  }
  return batches;
}

function rulesFor(now: number): AlarmRule[] {
  const at = new Date(now).toISOString();
  return RULES.map((input) => ({ id: randomUUID(), ...validateRuleInput(input), version: 1, createdAt: at, updatedAt: at }));
}

// ------------------------------------------------------------------ in-memory ports for the CPU run

class MemoryStateWriter implements DeviceStateWriter {
  constructor(private readonly known: ReadonlySet<string>) {}
  async recordTelemetry(update: { deviceId: string }) {
    return this.known.has(update.deviceId) ? ('applied' as const) : ('unknown' as const);
  }
  async readingNames(deviceId: string) {
    return this.known.has(deviceId) ? new Set<string>(['temperature', 'humidity']) : undefined;
  }
  async recordPresence() {
    return 'applied' as const;
  }
}

const discardTelemetry: TelemetryWriter = { write: async () => ({ rejected: [] }) };

function kinesisEvents(batches: Array<Map<string, AlarmReading[]>>): KinesisStreamEvent[] {
  let sequence = 0;
  return batches.map((batch) => ({
    Records: [...batch].flatMap(([id, readings]) =>
      readings.map((r) => {
        const payload = Buffer.from(JSON.stringify({ v: 1, ts: r.ts, seq: r.seq, metrics: r.metrics })).toString('base64');
        sequence += 1;
        return kinesisRecordFor({ payload, thingName: id, clientId: id, receivedAt: r.ts + 50 }, { sequenceNumber: String(sequence).padStart(21, '0'), arrivalMs: r.ts + 60 });
      }),
    ),
  }));
}

// ------------------------------------------------------------------ the run

async function main(): Promise<void> {
  const dynamo = await startDynalite();
  const names = localTableNames('bench-', [ALARMS_TABLE, DEVICES_TABLE]);
  await ensureTables(dynamo.endpoint, names, [ALARMS_TABLE, DEVICES_TABLE]);
  let current = emptyCapacityTally();
  const doc = capacityCountingClient(dynamo.endpoint, () => current);
  // Devices are created uncounted: registration is not alarm cost.
  const devices = new DynamoDbDeviceRepository(createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), names.Devices!);
  const silence = new DynamoDbDeviceSilenceSource(doc, names.Devices!);
  // The ingest handler's own lastSeen writes (what the sweep reads) are not alarm cost: not counted.
  const plain = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const stateWriter = new DynamoDbDeviceStateWriter(plain, names.Devices!);
  const store = new DynamoDbAlarmStore(doc, names.Alarms!);

  const start = Date.now() - (MINUTES + 15) * 60_000;
  const ids: string[] = [];
  for (let i = 0; i < DEVICES; i += 1) {
    const id = randomUUID();
    ids.push(id);
    const at = new Date(start - 3_600_000).toISOString();
    await devices.create({ id, name: `boiler ${i}`, type: 'boiler', status: 'ONLINE', createdAt: at, updatedAt: at, metadata: { site: 'plant-7' }, version: 1, readings: {}, lastSeen: at });
  }
  const rules = rulesFor(start - 3_600_000);
  if (rules.length !== RULES_PER_DEVICE) throw new Error(`the realistic rate assumes ${RULES_PER_DEVICE} rules per device`);
  for (const rule of rules) await store.createRule(rule);
  const batches = fleetReadings(ids, start);
  const messages = batches.reduce((n, b) => n + [...b.values()].reduce((m, r) => m + r.length, 0), 0);
  process.stdout.write(`bench:alarms — ${DEVICES} devices (one of ${DEFAULT_INGEST_SHARD_COUNT} shards of the ${FLEET}-device fleet), ${MINUTES} min of stream time, ${WINDOW_S} s batches, ${messages} messages, ${rules.length} rules per device\n`);

  // 1. Cost: the evaluator per device per batch, and the sweep once a minute, against dynalite.
  let transitions = 0;
  const onTransition = () => void (transitions += 1);
  let clock = start;
  const evaluation = new AlarmEvaluation({ store, rules: new CachedRules(store, undefined, () => clock), deviceType: async () => 'boiler', now: () => clock, onTransition });
  const ingestCounts = emptyCapacityTally();
  const sweepCounts = emptyCapacityTally();
  let sweeps = 0;
  // One sweep container for the whole run: its first sweep reads every device (a cold start),
  // later ones only the devices that can be due.
  const schedule = new SilenceSchedule();
  let firstSweep: CapacityTally | undefined;
  let devicesRead = 0;
  for (const [w, batch] of batches.entries()) {
    clock = start + (w + 1) * WINDOW_S * 1000;
    for (const [id, readings] of batch) await stateWriter.recordTelemetry({ deviceId: id, lastSeen: readings[readings.length - 1]!.ts, readings: {} });
    current = ingestCounts;
    for (const [id, readings] of batch) await evaluation.evaluate(id, readings);
    current = sweepCounts;
    for (let s = 0; s < WINDOW_S / ALARM_SWEEP_INTERVAL_SECONDS; s += 1) {
      const summary = await sweepAlarms({ store: store as AlarmStore, rules: new CachedRules(store, undefined, () => clock), devices: silence, schedule, now: () => clock, onTransition });
      if (sweeps === 0) firstSweep = { requests: { ...sweepCounts.requests }, readUnits: sweepCounts.readUnits, writeUnits: sweepCounts.writeUnits };
      devicesRead += summary.devicesChecked;
      sweeps += 1;
    }
  }
  doc.destroy();
  plain.destroy();
  await dynamo.stop();

  // 2. CPU: the ingest handler with and without rules, same batches, in-memory ports.
  const events = kinesisEvents(batches);
  const known = new Set(ids);
  const baseline = createIngestHandler({ devices: new MemoryStateWriter(known), telemetry: discardTelemetry, deadLetters: new InMemoryDeadLetterQueue() });
  const cpu = async (handler: ReturnType<typeof createIngestHandler>) => {
    const before = process.cpuUsage();
    for (const event of events) await handler(event);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / messages;
  };
  const without: number[] = [];
  const withRules: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    without.push(await cpu(baseline));
    const memory = new InMemoryAlarmStore();
    for (const rule of rules) await memory.createRule(rule);
    const alarms = new AlarmEvaluation({ store: memory, rules: new CachedRules(memory), deviceType: async () => 'boiler', now: () => clock });
    withRules.push(await cpu(createIngestHandler({ devices: new MemoryStateWriter(known), telemetry: discardTelemetry, deadLetters: new InMemoryDeadLetterQueue(), alarms })));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  // 3. Dollars.
  const perMillion = (usd: number) => (usd / messages) * 1e6;
  const readUsd = (c: CapacityTally) => c.readUnits * PRICES.dynamoReadUnit.usd;
  const writeUsd = (c: CapacityTally) => c.writeUnits * PRICES.dynamoWriteUnit.usd;
  const ingestUsd = readUsd(ingestCounts) + writeUsd(ingestCounts);
  // The sweep covers the whole fleet once a minute whatever the shard slice: scale its requests to 10,000 devices.
  const sweepScale = FLEET / DEVICES;
  const sweepInvocationUsd = sweeps * (PRICES.lambdaRequest.usd + 0.3 * 0.25 * PRICES.lambdaArmGbSecond.usd);
  const sweepUsd = (readUsd(sweepCounts) + writeUsd(sweepCounts)) * sweepScale + sweepInvocationUsd;
  const sweepMessages = messages * sweepScale;
  const perTransition =
    PRICES.lambdaRequest.usd + // worst case: one alarm-events invocation per transition
    0.05 * 0.25 * PRICES.lambdaArmGbSecond.usd + // ~50 ms at 256 MB
    2 * PRICES.dynamoWriteUnit.usd + // history item (~1 KB) and its index-free PutItem
    PRICES.eventBridgeEvent.usd +
    PRICES.snsPublish.usd +
    PRICES.appSyncOperation.usd +
    (1 + GRPC_TASKS) * PRICES.iotMessage.usd;
  const notifyUsd = transitions * perTransition;
  const evaluationPerMillion = perMillion(ingestUsd);
  const sweepPerMillion = (sweepUsd / sweepMessages) * 1e6;
  const runRate = (transitions / messages) * 1e6;
  const total = evaluationPerMillion + sweepPerMillion + perMillion(notifyUsd);
  const realisticNotify = (REALISTIC_TRANSITIONS_PER_MILLION / 1e6) * perTransition * 1e6;
  const realisticTotal = evaluationPerMillion + sweepPerMillion + realisticNotify;

  const line = (label: string, value: string) => process.stdout.write(`  ${label.padEnd(66)} ${value}\n`);
  const usd = (x: number) => `$${x.toFixed(4)}`;
  process.stdout.write('\nDynamoDB requests counted (consumed capacity as DynamoDB reports it):\n');
  line('ingest evaluation requests', JSON.stringify(ingestCounts.requests));
  line('ingest evaluation read / write units', `${ingestCounts.readUnits.toFixed(1)} RRU / ${ingestCounts.writeUnits.toFixed(1)} WRU`);
  line(`sweep requests (${sweeps} sweeps, ${DEVICES} devices)`, JSON.stringify(sweepCounts.requests));
  line('sweep read / write units', `${sweepCounts.readUnits.toFixed(1)} RRU / ${sweepCounts.writeUnits.toFixed(1)} WRU`);
  line('sweep: devices read (silence due) over the run', `${devicesRead} (${(devicesRead / DEVICES).toFixed(2)} per device in ${MINUTES} min; listed every sweep: index keys only)`);
  if (firstSweep) line('sweep of a new container (reads every device once)', `${firstSweep.readUnits.toFixed(1)} RRU for ${DEVICES} devices: ${usd(readUsd(firstSweep) * sweepScale)} per cold start for the fleet`);
  line('transitions (fired + cleared)', `${transitions} (${runRate.toFixed(0)} per million messages)`);
  process.stdout.write('\nExtra cost per million messages:\n');
  line('evaluation in the ingest batches (Query + transition writes)', usd(evaluationPerMillion));
  line('scheduled sweep (no-data rule on every device, due devices only)', usd(sweepPerMillion));
  line('evaluation + sweep, without notifications', usd(evaluationPerMillion + sweepPerMillion));
  line('notifications per transition', `$${(perTransition * 1e6).toFixed(2)} per million transitions`);
  line(`notifications at a realistic ${REALISTIC_TRANSITIONS_PER_MILLION.toFixed(0)} transitions per million (below)`, usd(realisticNotify));
  line('TOTAL at the realistic transition rate', `${usd(realisticTotal)} (target <= $${TARGET_PER_MILLION}: ${realisticTotal <= TARGET_PER_MILLION ? 'met' : 'NOT met'}); ${usd((realisticTotal * MESSAGES_PER_MONTH) / 1e6)} a month`);
  line(`total at this run's synthetic ${runRate.toFixed(0)} transitions per million`, `${usd(total)} (${total <= TARGET_PER_MILLION ? 'within' : 'above'} the target: notifications follow the alarm rate)`);
  const evaluationOnly = evaluationPerMillion + sweepPerMillion;
  line('transitions per million messages the target allows', `${Math.max(0, Math.floor((TARGET_PER_MILLION - evaluationOnly) / perTransition)).toLocaleString('en-US')}`);
  process.stdout.write(`  realistic rate: ${REALISTIC_RATE_REASON}\n`);
  process.stdout.write('\nCPU per message, the ingest handler on in-memory ports (median of rounds; noisy on a shared machine, compare within this run):\n');
  line('without rules (baseline, this run)', `${median(without).toFixed(1)} µs  [${without.map((x) => x.toFixed(1)).join(', ')}]`);
  line(`with ${rules.length} rules per device`, `${median(withRules).toFixed(1)} µs  [${withRules.map((x) => x.toFixed(1)).join(', ')}]`);
  line('evaluation CPU per message', `${(median(withRules) - median(without)).toFixed(1)} µs`);
  const ioe = PRICES.iotEventsMessageEvaluation.usd * rules.length * 1e6 + (PRICES.iotEventsAlarmMonth.usd * FLEET * rules.length * 1e6) / MESSAGES_PER_MONTH;
  process.stdout.write('\nFor comparison, AWS IoT Events (support ended 2026-05-20), last list price, us-east-1:\n');
  line(`${rules.length} evaluations per message + ${FLEET * rules.length} alarms a month`, `$${ioe.toFixed(2)} per million messages`);
  line('source', `${PRICES.iotEventsMessageEvaluation.source}; ${PRICES.iotEventsAlarmMonth.source}`);
}

await main();
