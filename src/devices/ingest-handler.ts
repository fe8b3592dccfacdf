/**
 * The ingest use case: one Kinesis batch of telemetry rule outputs in, coalesced device state
 * and telemetry points out. Bad records are dead-lettered with their reason and never fail the
 * batch; only infrastructure failures (store, Devices table, DLQ unreachable) are reported as
 * batch item failures, so Lambda retries from the earliest of them (every write is idempotent).
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { AlarmEvaluatorPort } from '../alarms/alarm-evaluation.js';
import type { ReadingValue } from '../domain/device.js';
import type { DeadLetter, DeadLetterQueue } from '../ports/dead-letter.js';
import type { TelemetryPoint, TelemetryWriter } from '../ports/telemetry-store.js';
import { UnavailableError } from '../domain/errors.js';
import { mapSettled } from '../concurrency/bounded-concurrency.js';
import type { DeviceStateWriter, TelemetryStateOutcome } from '../ports/device-state-writer.js';
import type { TelemetryRuleOutput } from '../contracts/rules.js';
import {
  DEFAULT_TELEMETRY_LIMITS,
  parseTelemetryPayload,
  type RejectReason,
  type TelemetryLimits,
  type TelemetryReading,
} from './telemetry-message.js';

/** What one batch did; handed to the observer (Powertools metrics in the Lambda). */
export interface IngestBatchSummary {
  readonly records: number;
  /** Points written to the telemetry store. */
  readonly stored: number;
  readonly deadLettered: number;
  readonly reasons: Readonly<Partial<Record<RejectReason, number>>>;
  readonly devices: number;
  /** Device-state writes that changed the item. */
  readonly stateApplied: number;
  /** Device-state writes skipped because the item already holds newer telemetry. */
  readonly stateStale: number;
  /** Records reported back to Lambda for retry. */
  readonly failed: number;
}

/** Hooks for logging and metrics; the handler itself does no I/O besides its ports. */
export interface IngestObserver {
  batch?(summary: IngestBatchSummary): void;
  /** An infrastructure failure; the affected records are retried. */
  failure?(stage: 'state' | 'telemetry' | 'dead-letter' | 'alarms', error: unknown, records: number): void;
}

/** Ports and options of {@link createIngestHandler}. */
export interface IngestHandlerDeps {
  readonly devices: DeviceStateWriter;
  readonly telemetry: TelemetryWriter;
  readonly deadLetters: DeadLetterQueue;
  /** Alarm rules, evaluated once per known device per batch; none when absent. */
  readonly alarms?: AlarmEvaluatorPort;
  /** @default DEFAULT_TELEMETRY_LIMITS */
  readonly limits?: TelemetryLimits;
  /** Concurrent device-state writes. @default 32 */
  readonly stateConcurrency?: number;
  /** @default Date.now */
  readonly now?: () => number;
  readonly observer?: IngestObserver;
}

/** The Lambda-shaped ingest handler. */
export type IngestHandler = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

/** IoT thing names: 1-128 of `[a-zA-Z0-9:_-]`. */
const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

/** One valid reading: a version-1 message, or one point of a version-2 message. */
interface Accepted {
  readonly record: KinesisStreamRecord;
  readonly envelope: TelemetryRuleOutput;
  readonly message: TelemetryReading;
  /** Its index in a version-2 message's points; dead letters about it name the point. */
  readonly pointIndex?: number;
}

/** Builds the ingest handler from its ports. */
export function createIngestHandler(deps: IngestHandlerDeps): IngestHandler {
  const limits = deps.limits ?? DEFAULT_TELEMETRY_LIMITS;
  const now = deps.now ?? Date.now;
  const concurrency = deps.stateConcurrency ?? 32;

  return async (event) => {
    const records = event.Records ?? [];
    const letters: Array<{ record: KinesisStreamRecord; letter: DeadLetter }> = [];
    const failed = new Set<KinesisStreamRecord>();
    const byDevice = new Map<string, Accepted[]>();
    const deadLetteredAt = new Date(now()).toISOString();

    const deadLetter = (record: KinesisStreamRecord, reason: RejectReason, detail: string, envelope?: Partial<TelemetryRuleOutput>, pointIndex?: number) => {
      const payload = typeof envelope?.payload === 'string' ? envelope.payload : record.kinesis.data;
      letters.push({
        record,
        letter: {
          source: 'ingest',
          reason,
          detail,
          ...(typeof envelope?.thingName === 'string' && { thingName: envelope.thingName }),
          ...(typeof envelope?.clientId === 'string' && { clientId: envelope.clientId }),
          payload,
          payloadBytes: base64Length(payload),
          ...(typeof envelope?.receivedAt === 'number' && { receivedAt: envelope.receivedAt }),
          sequenceNumber: record.kinesis.sequenceNumber,
          ...(pointIndex !== undefined && { pointIndex }),
          deadLetteredAt,
        },
      });
    };
    const refuse = (item: Accepted, reason: RejectReason, detail: string) => deadLetter(item.record, reason, detail, item.envelope, item.pointIndex);

    // 1. Decode and validate every record on its own, and each point of a version-2 message alone.
    for (const record of records) {
      const envelope = decodeEnvelope(record);
      if (typeof envelope === 'string') {
        deadLetter(record, 'INVALID_ENVELOPE', envelope);
        continue;
      }
      const result = parseTelemetryPayload(Buffer.from(envelope.payload, 'base64'), envelope.receivedAt, limits);
      if (!result.ok) {
        deadLetter(record, result.reason, result.detail, envelope);
        continue;
      }
      result.points.forEach((point, index) => {
        const pointIndex = result.version === 2 ? index : undefined;
        if (!point.ok) {
          deadLetter(record, point.reason, pointIndex === undefined ? point.detail : `point ${index}: ${point.detail}`, envelope, pointIndex);
          return;
        }
        const accepted: Accepted = { record, envelope, message: point.reading, ...(pointIndex !== undefined && { pointIndex }) };
        const list = byDevice.get(envelope.thingName);
        if (list) list.push(accepted);
        else byDevice.set(envelope.thingName, [accepted]);
      });
    }

    // 2. De-duplicate (device, seq) within the batch: the first occurrence wins.
    for (const [deviceId, list] of byDevice) {
      const seen = new Set<number>();
      const unique: Accepted[] = [];
      for (const item of list) {
        if (seen.has(item.message.seq)) {
          refuse(item, 'DUPLICATE_SEQUENCE', `seq ${item.message.seq} of ${deviceId} already appears in this batch`);
        } else {
          seen.add(item.message.seq);
          unique.push(item);
        }
      }
      byDevice.set(deviceId, unique);
    }

    // 3. One coalesced state write per device; it also tells unknown devices apart. A device
    //    whose latest-readings map is full has its messages with new names refused, alone.
    const devices = [...byDevice.keys()];
    const watching = deps.alarms?.watchedMetrics?.bind(deps.alarms);
    const outcomes = await mapSettled(devices, concurrency, async (deviceId) =>
      writeState(deps.devices, deviceId, byDevice.get(deviceId)!, limits, watching ? await watching(deviceId) : undefined),
    );
    const points: TelemetryPoint[] = [];
    const pointRecords = new Map<TelemetryPoint, Accepted>();
    let stateApplied = 0;
    let stateStale = 0;
    const known: Array<[string, readonly Accepted[]]> = [];
    devices.forEach((deviceId, index) => {
      const result = outcomes[index]!;
      const items = byDevice.get(deviceId)!;
      if (result.status === 'rejected') {
        deps.observer?.failure?.('state', result.reason, items.length);
        for (const item of items) failed.add(item.record);
        return;
      }
      const { outcome, accepted, refused } = result.value;
      for (const item of refused) {
        refuse(item, 'READINGS_LIMIT', `${deviceId} already reports ${limits.maxReadings} metrics; this reading adds new ones`);
      }
      if (outcome === 'unknown') {
        for (const item of accepted) refuse(item, 'UNKNOWN_DEVICE', `no registered device "${deviceId}"`);
        return;
      }
      if (outcome === 'too-large') {
        for (const item of accepted) refuse(item, 'ITEM_TOO_LARGE', `the registry item of ${deviceId} would pass DynamoDB's 400 KB item limit`);
        return;
      }
      if (outcome === 'applied') stateApplied += 1;
      else if (outcome === 'stale') stateStale += 1;
      known.push([deviceId, accepted]);
      for (const item of accepted) {
        const point: TelemetryPoint = { deviceId, ts: item.message.ts, seq: item.message.seq, metrics: item.message.metrics };
        points.push(point);
        pointRecords.set(point, item);
      }
    });

    // 4. Telemetry points of known devices; points the store refuses are dead-lettered.
    let stored = 0;
    if (points.length > 0) {
      try {
        const { rejected } = await deps.telemetry.write(points);
        for (const { point, reason } of rejected) {
          const item = pointRecords.get(point);
          if (item) refuse(item, 'STORE_REJECTED', reason);
        }
        stored = points.length - rejected.length;
      } catch (error) {
        deps.observer?.failure?.('telemetry', error, points.length);
        for (const item of pointRecords.values()) failed.add(item.record);
      }
    }

    // 4b. Alarm rules, per device in event-time order. A failure retries the device's records;
    //     evaluation ignores what it already evaluated, so the retry causes no second transition.
    if (deps.alarms) {
      const alarms = deps.alarms;
      const results = await mapSettled(known, concurrency, ([deviceId, items]) =>
        alarms.evaluate(deviceId, items.map(({ message }) => ({ ts: message.ts, seq: message.seq, metrics: message.metrics }))),
      );
      results.forEach((result, index) => {
        if (result.status === 'fulfilled') return;
        const items = known[index]![1];
        deps.observer?.failure?.('alarms', result.reason, items.length);
        for (const item of items) failed.add(item.record);
      });
    }

    // 5. Dead letters; if the queue is down, those records are retried too. Lambda retries
    //    the shard from the earliest failed record on, so a letter of a later record would be
    //    sent again by the retry: it waits for that retry instead (one letter per sequence number).
    const retried = retriedFrom(failed);
    const sendable = letters.filter(({ record }) => !retried(record));
    const reasons: Partial<Record<RejectReason, number>> = {};
    for (const { letter } of sendable) reasons[letter.reason as RejectReason] = (reasons[letter.reason as RejectReason] ?? 0) + 1;
    if (sendable.length > 0) {
      try {
        await deps.deadLetters.send(sendable.map((l) => l.letter));
      } catch (error) {
        deps.observer?.failure?.('dead-letter', error, sendable.length);
        for (const { record } of sendable) failed.add(record);
      }
    }

    deps.observer?.batch?.({
      records: records.length,
      stored,
      deadLettered: sendable.length,
      reasons,
      devices: devices.length,
      stateApplied,
      stateStale,
      failed: failed.size,
    });
    return { batchItemFailures: [...failed].map((record) => ({ itemIdentifier: record.kinesis.sequenceNumber })) };
  };
}

/** What one device's state write decided for its messages of the batch. */
interface StateResult {
  readonly outcome: Exclude<TelemetryStateOutcome, 'full'> | 'nothing';
  /** Messages whose readings the outcome covers. */
  readonly accepted: readonly Accepted[];
  /** Messages that would have added names beyond the device's readings bound. */
  readonly refused: readonly Accepted[];
}

/**
 * The coalesced state write of one device, within its readings bound. Only when the writer
 * answers 'full' are the stored names read and the messages that would add names beyond the
 * bound set aside, in (ts, seq) order, so a device's earlier messages win over its later ones.
 */
async function writeState(
  writer: DeviceStateWriter,
  deviceId: string,
  items: readonly Accepted[],
  limits: TelemetryLimits,
  watched: ReadonlySet<string> | undefined,
): Promise<StateResult> {
  let accepted = items;
  const refused: Accepted[] = [];
  let storedNames: ReadonlySet<string> | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const outcome = await writer.recordTelemetry({ ...coalesce(deviceId, accepted, watched), maxReadings: limits.maxReadings, ...(storedNames && { storedNames }) });
    if (outcome !== 'full') return { outcome, accepted, refused };
    storedNames = await writer.readingNames(deviceId);
    if (!storedNames) return { outcome: 'unknown', accepted, refused };
    const names = new Set(storedNames);
    const within: Accepted[] = [];
    for (const item of [...accepted].sort(byTime)) {
      const added = Object.keys(item.message.metrics).filter((name) => !names.has(name));
      if (names.size + added.length > limits.maxReadings) {
        refused.push(item);
        continue;
      }
      for (const name of added) names.add(name);
      within.push(item);
    }
    accepted = within;
    if (accepted.length === 0) return { outcome: 'nothing', accepted, refused };
  }
  throw new UnavailableError(`the readings map of ${deviceId} kept changing under its bound`);
}

const byTime = (a: Accepted, b: Accepted): number => a.message.ts - b.message.ts || a.message.seq - b.message.seq;

/**
 * Whether a record comes again because a record at or before it failed: Lambda checkpoints
 * before the lowest failed sequence number of the shard and redelivers from there.
 */
function retriedFrom(failed: ReadonlySet<KinesisStreamRecord>): (record: KinesisStreamRecord) => boolean {
  let earliest: bigint | undefined;
  for (const record of failed) {
    const sequence = sequenceOf(record);
    if (sequence !== undefined && (earliest === undefined || sequence < earliest)) earliest = sequence;
  }
  if (failed.size > 0 && earliest === undefined) return () => true;
  return (record) => {
    if (earliest === undefined) return false;
    const sequence = sequenceOf(record);
    return sequence === undefined || sequence >= earliest;
  };
}

function sequenceOf(record: KinesisStreamRecord): bigint | undefined {
  try {
    return BigInt(record.kinesis.sequenceNumber);
  } catch {
    return undefined;
  }
}

/** The rule output inside a Kinesis record, or why it is not one. */
function decodeEnvelope(record: KinesisStreamRecord): TelemetryRuleOutput | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
  } catch {
    return 'Kinesis record data is not the telemetry rule output (not JSON)';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'Kinesis record data is not a JSON object';
  const { payload, thingName, clientId, receivedAt } = parsed as Record<string, unknown>;
  if (typeof payload !== 'string') return 'rule output has no base64 "payload"';
  if (typeof thingName !== 'string' || !THING_NAME.test(thingName)) return 'rule output has no valid "thingName"';
  if (typeof receivedAt !== 'number' || !Number.isFinite(receivedAt)) return 'rule output has no numeric "receivedAt"';
  return { payload, thingName, clientId: typeof clientId === 'string' ? clientId : '', receivedAt };
}

/** Newest timestamp and latest value per metric, in (ts, seq) order; the newest time of each watched metric present. */
function coalesce(deviceId: string, items: readonly Accepted[], watched?: ReadonlySet<string>) {
  const ordered = [...items].sort(byTime);
  const readings: Record<string, ReadingValue> = {};
  const metricTimes: Record<string, number> = {};
  for (const { message } of ordered) {
    Object.assign(readings, message.metrics);
    if (watched) for (const metric of watched) if (metric in message.metrics) metricTimes[metric] = message.ts;
  }
  return { deviceId, lastSeen: ordered[ordered.length - 1]!.message.ts, readings, ...(Object.keys(metricTimes).length > 0 && { metricTimes }) };
}

function base64Length(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((base64.length * 3) / 4) - padding);
}
