/**
 * The events handler: DynamoDB stream batches of the Devices table → stats counters, then
 * every change publisher; and of the Commands table → every command publisher. Shared by the
 * events Lambda and the local change feed.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { CommandChange, CommandChangePublisher } from '../commands/command-change.js';
import type { DeviceChange } from '../domain/device-change.js';
import { mapSettled } from '../concurrency/bounded-concurrency.js';
import type { ChangePublisher } from '../ports/change-feed.js';
import type { CredentialRetirer } from '../ports/credential-retirer.js';
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
  /** Records of the Commands stream: each status transition goes to every command publisher, at least once. */
  readonly commands?: {
    /** Whether a record is a command's (the table adapter's test); such records are never read as devices. */
    readonly isCommandRecord: (record: DynamoDBRecord) => boolean;
    /** The transition a command record describes; undefined for writes that leave the status as it was. */
    readonly toChange: (record: DynamoDBRecord) => CommandChange | undefined;
    readonly publishers: readonly CommandChangePublisher[];
  };
  /**
   * Retires the certificates of every deleted device (after the counters, before the publishers):
   * `certificatesOf` reads them from a REMOVE record's old image (the current one and, mid-rotation,
   * the pending one), one after another. A failure fails the record, so it
   * is retried and, in the end, dead-lettered like any other.
   * @default - credentials are left alone (the local platform: its broker admits only registered devices)
   */
  readonly retirement?: {
    readonly certificatesOf: (record: DynamoDBRecord) => readonly string[];
    readonly retirer: CredentialRetirer;
  };
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
 *
 * Registry and presence changes (the version moved) are published one by one, as they come.
 * Telemetry-only changes go to publishers that take batches in one publishTelemetryBatch per
 * invocation, coalesced to the newest per device: at most one per device per batch, which is
 * what keeps live telemetry at the cost of a batch rather than of a change.
 */
export function createEventsHandler(deps: EventsHandlerDeps): EventsHandler {
  const publishTelemetry = deps.publishTelemetryChanges ?? true;
  const concurrency = deps.concurrency ?? EVENTS_DEVICE_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`Events handler concurrency must be a positive integer, got ${concurrency}`);
  const batching = deps.publishers.filter((p) => p.publishTelemetryBatch !== undefined);
  const oneByOne = deps.publishers.filter((p) => p.publishTelemetryBatch === undefined);

  /** Publishes or collects one record's change; telemetry-only ones go into `telemetry` for the batch publishers. */
  const processRecord = async (positioned: Positioned, telemetry: TelemetryBatch): Promise<void> => {
    const commands = deps.commands;
    if (commands?.isCommandRecord(positioned.record)) {
      const commandChange = commands.toChange(positioned.record);
      if (commandChange) await Promise.all(commands.publishers.map((publisher) => publisher.publish(commandChange)));
      return;
    }
    const change = deps.toChange(positioned.record);
    if (!change) return;
    await deps.stats.apply(change);
    if (change.changeType === 'DELETED' && deps.retirement) {
      for (const certificateId of deps.retirement.certificatesOf(positioned.record)) await deps.retirement.retirer.retire(change.device.id, certificateId);
    }
    if (!isTelemetryOnlyChange(change)) {
      await Promise.all(deps.publishers.map((publisher) => publisher.publish(change)));
      return;
    }
    if (!publishTelemetry) return;
    if (batching.length > 0) telemetry.add(change, positioned);
    await Promise.all(oneByOne.map((publisher) => publisher.publish(change)));
  };

  const logFailure = ({ record }: Positioned, error: unknown) =>
    deps.logger?.error('Stream record failed; it and the later records of its shard will be redelivered', {
      eventID: record.eventID,
      sequenceNumber: record.dynamodb?.SequenceNumber,
      error,
    });

  /** Runs one device's records in order; returns the failed one, if any. */
  const processDevice = async (records: readonly Positioned[], telemetry: TelemetryBatch): Promise<Positioned | undefined> => {
    for (const positioned of records) {
      try {
        await processRecord(positioned, telemetry);
      } catch (error) {
        logFailure(positioned, error);
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
    const telemetry = new TelemetryBatch();
    // processDevice reports a failure as its result and never rejects.
    const failed = (await mapSettled([...devices.values()], concurrency, (records) => processDevice(records, telemetry))).map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });

    // One delivery per batch publisher for all telemetry-only changes; if it fails, every
    // collected change is unpublished, so the earliest of them per shard is redelivered too.
    if (telemetry.size > 0) {
      try {
        const changes = telemetry.newestPerDevice();
        await Promise.all(batching.map((publisher) => publisher.publishTelemetryBatch!(changes)));
      } catch (error) {
        for (const first of telemetry.firstPerShard()) {
          logFailure(first, error);
          failed.push(first);
        }
      }
    }

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

/**
 * The telemetry-only changes of one batch. Each is a whole device image, so the newest per
 * device carries everything the older ones did: coalescing them loses no value, only
 * intermediate readings a live view would overwrite at once (the telemetry store has them all).
 */
class TelemetryBatch {
  private readonly newest = new Map<string, { change: DeviceChange; index: number }>();
  private readonly first = new Map<string, Positioned>();

  get size(): number {
    return this.newest.size;
  }

  add(change: DeviceChange, positioned: Positioned): void {
    const current = this.newest.get(change.device.id);
    if (!current || current.change.sequence < change.sequence) this.newest.set(change.device.id, { change, index: positioned.index });
    const shard = positioned.record.eventSourceARN ?? '';
    const first = this.first.get(shard);
    if (!first || positioned.index < first.index) this.first.set(shard, positioned);
  }

  /** The newest change of each device, in batch order. */
  newestPerDevice(): DeviceChange[] {
    return [...this.newest.values()].sort((a, b) => a.index - b.index).map((entry) => entry.change);
  }

  firstPerShard(): Positioned[] {
    return [...this.first.values()];
  }
}

/** A record's device: its shard and item key. A record without keys is a group of its own. */
function deviceKey(record: DynamoDBRecord, index: number): string {
  const keys = record.dynamodb?.Keys;
  const item = keys ? JSON.stringify(keys) : `#${index}`;
  return `${record.eventSourceARN ?? ''}\u0000${item}`;
}
