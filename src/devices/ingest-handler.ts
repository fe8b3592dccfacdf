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
import { mapSettled } from './concurrency.js';
import type { DeviceStateWriter, TelemetryStateOutcome } from './device-state.js';
import type { TelemetryRuleOutput } from './rules.js';
import {
  DEFAULT_TELEMETRY_LIMITS,
  parseTelemetry,
  type RejectReason,
  type TelemetryLimits,
  type TelemetryMessage,
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

interface Accepted {
  readonly record: KinesisStreamRecord;
  readonly envelope: TelemetryRuleOutput;
  readonly message: TelemetryMessage;
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

    const deadLetter = (record: KinesisStreamRecord, reason: RejectReason, detail: string, envelope?: Partial<TelemetryRuleOutput>) => {
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
          deadLetteredAt,
        },
      });
    };

    // 1. Decode and validate every record on its own.
    for (const record of records) {
      const envelope = decodeEnvelope(record);
      if (typeof envelope === 'string') {
        deadLetter(record, 'INVALID_ENVELOPE', envelope);
        continue;
      }
      const result = parseTelemetry(Buffer.from(envelope.payload, 'base64'), envelope.receivedAt, limits);
      if (!result.ok) {
        deadLetter(record, result.reason, result.detail, envelope);
        continue;
      }
      const list = byDevice.get(envelope.thingName);
      const accepted = { record, envelope, message: result.message };
      if (list) list.push(accepted);
      else byDevice.set(envelope.thingName, [accepted]);
    }

    // 2. De-duplicate (device, seq) within the batch: the first occurrence wins.
    for (const [deviceId, list] of byDevice) {
      const seen = new Set<number>();
      const unique: Accepted[] = [];
      for (const item of list) {
        if (seen.has(item.message.seq)) {
          deadLetter(item.record, 'DUPLICATE_SEQUENCE', `seq ${item.message.seq} of ${deviceId} already appears in this batch`, item.envelope);
        } else {
          seen.add(item.message.seq);
          unique.push(item);
        }
      }
      byDevice.set(deviceId, unique);
    }

    // 3. One coalesced state write per device; it also tells unknown devices apart.
    const devices = [...byDevice.keys()];
    const outcomes = await mapSettled(devices, concurrency, (deviceId) =>
      deps.devices.recordTelemetry(coalesce(deviceId, byDevice.get(deviceId)!, limits.maxMetrics)),
    );
    const points: TelemetryPoint[] = [];
    const pointRecords = new Map<TelemetryPoint, Accepted>();
    let stateApplied = 0;
    let stateStale = 0;
    const known: string[] = [];
    devices.forEach((deviceId, index) => {
      const outcome = outcomes[index]!;
      const items = byDevice.get(deviceId)!;
      if (outcome.status === 'rejected') {
        deps.observer?.failure?.('state', outcome.reason, items.length);
        for (const item of items) failed.add(item.record);
        return;
      }
      const value: TelemetryStateOutcome = outcome.value;
      if (value === 'unknown') {
        for (const item of items) deadLetter(item.record, 'UNKNOWN_DEVICE', `no registered device "${deviceId}"`, item.envelope);
        return;
      }
      if (value === 'applied') stateApplied += 1;
      else stateStale += 1;
      known.push(deviceId);
      for (const item of items) {
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
          if (item) deadLetter(item.record, 'STORE_REJECTED', reason, item.envelope);
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
      const results = await mapSettled(known, concurrency, (deviceId) =>
        alarms.evaluate(deviceId, byDevice.get(deviceId)!.map(({ message }) => ({ ts: message.ts, seq: message.seq, metrics: message.metrics }))),
      );
      results.forEach((result, index) => {
        if (result.status === 'fulfilled') return;
        const items = byDevice.get(known[index]!)!;
        deps.observer?.failure?.('alarms', result.reason, items.length);
        for (const item of items) failed.add(item.record);
      });
    }

    // 5. Dead letters; if the queue is down, those records are retried too.
    const reasons: Partial<Record<RejectReason, number>> = {};
    for (const { letter } of letters) reasons[letter.reason as RejectReason] = (reasons[letter.reason as RejectReason] ?? 0) + 1;
    if (letters.length > 0) {
      try {
        await deps.deadLetters.send(letters.map((l) => l.letter));
      } catch (error) {
        deps.observer?.failure?.('dead-letter', error, letters.length);
        for (const { record } of letters) failed.add(record);
      }
    }

    deps.observer?.batch?.({
      records: records.length,
      stored,
      deadLettered: letters.length,
      reasons,
      devices: devices.length,
      stateApplied,
      stateStale,
      failed: failed.size,
    });
    return { batchItemFailures: [...failed].map((record) => ({ itemIdentifier: record.kinesis.sequenceNumber })) };
  };
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

/**
 * Newest timestamp and latest value per metric, in (ts, seq) order. At most `maxMetrics`
 * readings (the most recently reported ones): one message may carry that many, and the
 * single UpdateItem per device must stay within DynamoDB's 4 KB expression limit however
 * many different metrics a batch holds.
 */
function coalesce(deviceId: string, items: readonly Accepted[], maxMetrics: number) {
  const ordered = [...items].sort((a, b) => a.message.ts - b.message.ts || a.message.seq - b.message.seq);
  const latest = new Map<string, ReadingValue>();
  for (const { message } of ordered) {
    for (const [name, value] of Object.entries(message.metrics)) {
      latest.delete(name); // re-inserted last: Map order is recency order
      latest.set(name, value);
    }
  }
  const entries = [...latest];
  const readings = Object.fromEntries(entries.slice(Math.max(0, entries.length - maxMetrics)));
  return { deviceId, lastSeen: ordered[ordered.length - 1]!.message.ts, readings };
}

function base64Length(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((base64.length * 3) / 4) - padding);
}
