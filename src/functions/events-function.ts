/**
 * The events (change feed) function as one composition, built by its Lambda module
 * (lambdas/events) and by the local change feed, so the counters and the fan-out behave alike.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { isCommandRecord, toCommandChange } from '../adapters/dynamodb/command-stream-record.js';
import type { CommandChangePublisher } from '../commands/command-change.js';
import { deletedCertificatesOf, toDeviceChange } from '../adapters/dynamodb/device-stream-record.js';
import { createEventsHandler } from '../change-feed/events-handler.js';
import { CHANGE_FEED_METRICS } from '../contracts/metrics.js';
import type { ChangePublisher } from '../ports/change-feed.js';
import type { CredentialRetirer } from '../ports/credential-retirer.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsRecorder } from '../ports/metrics.js';
import type { StatsProjector } from '../ports/stats.js';

/** What the events function is built from. */
export interface EventsFunctionPorts {
  readonly stats: StatsProjector;
  readonly publishers: readonly ChangePublisher[];
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  /** @default true */
  readonly publishTelemetryChanges?: boolean;
  /** Where command status transitions (the Commands stream) go. @default none */
  readonly commandPublishers?: readonly CommandChangePublisher[];
  /** Retires a deleted device's certificate. @default - none */
  readonly retirer?: CredentialRetirer;
}

/** The stream batch handler (ReportBatchItemFailures); counts records and reported failures per batch. */
export function composeEventsFunction(ports: EventsFunctionPorts): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const { metrics } = ports;
  const handleChanges = createEventsHandler({
    toChange: toDeviceChange,
    stats: ports.stats,
    publishers: ports.publishers,
    logger: ports.logger,
    ...(ports.publishTelemetryChanges !== undefined && { publishTelemetryChanges: ports.publishTelemetryChanges }),
    commands: { isCommandRecord, toChange: toCommandChange, publishers: ports.commandPublishers ?? [] },
    ...(ports.retirer && { retirement: { certificatesOf: deletedCertificatesOf, retirer: ports.retirer } }),
  });
  return async (event) => {
    metrics.count(CHANGE_FEED_METRICS.records, event.Records?.length ?? 0);
    try {
      const response = await handleChanges(event);
      // One reported failure per shard: the batch is retried from that record on.
      metrics.count(CHANGE_FEED_METRICS.batchItemFailures, response.batchItemFailures.length);
      return response;
    } finally {
      metrics.flush();
    }
  };
}
