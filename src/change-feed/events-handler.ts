/**
 * The events handler: DynamoDB stream batches of the Devices table → stats counters, then
 * every change publisher. Shared by the events Lambda and the local change feed.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { DeviceChange } from '../domain/device-change.js';
import { mapSettled } from '../shared/bounded-concurrency.js';
import type { ChangePublisher } from '../ports/change-feed.js';
import type { Logger } from '../ports/logger.js';
import type { StatsProjector } from '../ports/stats.js';
import { isTelemetryOnlyChange } from './telemetry-change.js';

/**
 * Devices whose records are processed at the same time within one batch. Each record costs a
 * stats write and a network publish per publisher (tens of ms); at the fleet's ~190 changes/s
 * one device at a time would fall behind on a few stream shards. 16 devices x 2 publishers
 * stays well under the SDK's default 50 sockets per client.
 */
export const EVENTS_DEVICE_CONCURRENCY = 16;

/** Ports and settings of {@link createEventsHandler}. */
export interface EventsHandlerDeps {
  /**
   * The change a stream record describes, or undefined when it is not a device's (the table
   * adapter's decoder); throws when a device record cannot be de-duplicated.
   */
  readonly toChange: (record: DynamoDBRecord) => DeviceChange | undefined;
  /** Keeps the counters; must be idempotent per (device, sequence), since records are redelivered. */
  readonly stats: StatsProjector;
  /** Called for every change (see publishTelemetryChanges), after the counters, at least once. */
  readonly publishers: readonly ChangePublisher[];
  readonly logger?: Pick<Logger, 'error'>;
  /**
   * Whether telemetry-only changes (lastSeen/readings; the version did not move) go to the
   * publishers. Registry and presence changes always do.
   * @default true
   */
  readonly publishTelemetryChanges?: boolean;
  /** @default EVENTS_DEVICE_CONCURRENCY */
  readonly concurrency?: number;
}

/** A stream handler for the events Lambda (ReportBatchItemFailures on). */
export type EventsHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

interface Positioned {
  readonly record: DynamoDBRecord;
  /** Position in the batch: the event source delivers a shard's records in sequence order. */
  readonly index: number;
}

/**
 * Groups the batch by device (shard + item key), runs up to `concurrency` devices at a time
 * and each device's records strictly one after another, in stream order. When a device's
 * record fails, that device's later records are skipped (never applied past a failure: the
 * stats projector's per-device sequence marker relies on it) and, per shard, the earliest
 * failed record in sequence order is reported. The event source resumes from the lowest
 * reported sequence number, so it redelivers everything after it, including later records
 * of other devices that already succeeded: the stats projector counts those once (its marker
 * is at or past them) and publishers deliver at least once, as before. Records whose images
 * are not devices are ignored.
 */
export function createEventsHandler(deps: EventsHandlerDeps): EventsHandler {
  const publishTelemetry = deps.publishTelemetryChanges ?? true;
  const concurrency = deps.concurrency ?? EVENTS_DEVICE_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`Events handler concurrency must be a positive integer, got ${concurrency}`);

  const processRecord = async (record: DynamoDBRecord): Promise<void> => {
    const change = deps.toChange(record);
    if (!change) return;
    await deps.stats.apply(change);
    if (!publishTelemetry && isTelemetryOnlyChange(change)) return;
    await Promise.all(deps.publishers.map((publisher) => publisher.publish(change)));
  };

  /** Runs one device's records in order; returns the failed one, if any. */
  const processDevice = async (records: readonly Positioned[]): Promise<Positioned | undefined> => {
    for (const positioned of records) {
      try {
        await processRecord(positioned.record);
      } catch (error) {
        const { record } = positioned;
        deps.logger?.error('Stream record failed; it and the later records of its shard will be redelivered', {
          eventID: record.eventID,
          sequenceNumber: record.dynamodb?.SequenceNumber,
          error,
        });
        return positioned;
      }
    }
    return undefined;
  };

  return async (event) => {
    const devices = new Map<string, Positioned[]>();
    (event.Records ?? []).forEach((record, index) => {
      const key = deviceKey(record, index);
      const records = devices.get(key) ?? [];
      records.push({ record, index });
      devices.set(key, records);
    });
    // processDevice reports a failure as its result and never rejects.
    const failed = (await mapSettled([...devices.values()], concurrency, processDevice)).map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });

    // Per shard (a Lambda batch holds one; grouping keeps the rule right for any caller that mixes them).
    const earliest = new Map<string, Positioned>();
    for (const failure of failed) {
      if (!failure) continue;
      const shard = failure.record.eventSourceARN ?? '';
      const current = earliest.get(shard);
      if (!current || failure.index < current.index) earliest.set(shard, failure);
    }
    return {
      batchItemFailures: [...earliest.values()]
        .sort((a, b) => a.index - b.index)
        .map(({ record }) => ({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' })),
    };
  };
}

/** A record's device: its shard and item key. A record without keys is a group of its own. */
function deviceKey(record: DynamoDBRecord, index: number): string {
  const keys = record.dynamodb?.Keys;
  const item = keys ? JSON.stringify(keys) : `#${index}`;
  return `${record.eventSourceARN ?? ''}\u0000${item}`;
}
