/**
 * The events handler: DynamoDB stream batches of the Devices table → stats counters, then
 * every change publisher. Shared by the events Lambda and the local change feed.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { ChangePublisher } from '../ports/change-feed.js';
import type { StatsProjector } from '../ports/stats.js';
import { toDeviceChange } from './stream-record.js';

/** The subset of a logger (Powertools Logger fits) the handler reports failures to. */
export interface EventsHandlerLogger {
  error(message: string, ...extra: unknown[]): void;
}

/** Ports of {@link createEventsHandler}. */
export interface EventsHandlerDeps {
  /** Keeps the counters; must be idempotent per (device, sequence), since records are redelivered. */
  readonly stats: StatsProjector;
  /** Called for every change, after the counters, at least once. */
  readonly publishers: readonly ChangePublisher[];
  readonly logger?: EventsHandlerLogger;
}

/** A stream handler for the events Lambda (ReportBatchItemFailures on). */
export type EventsHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

/**
 * Processes each shard's records in order. On the first failure in a shard it reports that
 * record and skips the shard's later records: the event source then retries from the failed
 * record, so no change is applied after a later one of the same item (the stats projector's
 * per-device sequence marker relies on this), and skipped records come back in the retry.
 * Records whose images are not devices are ignored.
 */
export function createEventsHandler(deps: EventsHandlerDeps): EventsHandler {
  const processRecord = async (record: DynamoDBRecord): Promise<void> => {
    const change = toDeviceChange(record);
    if (!change) return;
    await deps.stats.apply(change);
    await Promise.all(deps.publishers.map((publisher) => publisher.publish(change)));
  };

  return async (event) => {
    // A Lambda batch holds one shard; grouping keeps the rule right for any caller that mixes them.
    const shards = new Map<string, DynamoDBRecord[]>();
    for (const record of event.Records ?? []) {
      const shard = record.eventSourceARN ?? '';
      const records = shards.get(shard) ?? [];
      records.push(record);
      shards.set(shard, records);
    }
    const failures = await Promise.all(
      [...shards.values()].map(async (records) => {
        for (const record of records) {
          try {
            await processRecord(record);
          } catch (error) {
            deps.logger?.error('Stream record failed; it and the later records of its shard will be retried', {
              eventID: record.eventID,
              sequenceNumber: record.dynamodb?.SequenceNumber,
              error,
            });
            return record.dynamodb?.SequenceNumber ?? '';
          }
        }
        return undefined;
      }),
    );
    return {
      batchItemFailures: failures.filter((f): f is string => f !== undefined).map((itemIdentifier) => ({ itemIdentifier })),
    };
  };
}
