/**
 * Events Lambda: the composition root of the change feed in the cloud. DynamoDB stream of the
 * Devices table → stats counters (always) → change publishers (when configured).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CHANGE_FEED_METRICS } from '../../src/contracts/metrics.js';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { AppSyncChangePublisher, credentialsFromEnv, requiredRegion } from '../../src/adapters/appsync/appsync-change-publisher.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { createEventsHandler } from '../../src/change-feed/events-handler.js';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { IotChangePublisher } from '../../src/adapters/iot/iot-change-publisher.js';
import type { ChangePublisher } from '../../src/ports/change-feed.js';
import { readEventsEnvironment } from '../../src/contracts/environment/events-function.js';

const logger = new Logger();
const config = readEventsEnvironment();
const doc = createDocumentClient();

const publishers: ChangePublisher[] = [];
// ---- Change publishers: each owner adds its one line here, guarded by its config flag. ----
if (config.appSyncGraphqlUrl) {
  publishers.push(new AppSyncChangePublisher({ url: config.appSyncGraphqlUrl, region: requiredRegion(), credentials: credentialsFromEnv() }));
}
if (config.changeTopicEnabled) publishers.push(new IotChangePublisher(new IoTDataPlaneClient({})));
// ---- end of change publishers ----
logger.info('Events handler configured', {
  statsTable: config.statsTableName,
  publishers: publishers.length,
  appSync: config.appSyncGraphqlUrl !== undefined,
  changeTopic: config.changeTopicEnabled,
  publishTelemetryChanges: config.publishTelemetryChanges,
});

const handleChanges = createEventsHandler({
  stats: new DynamoDbStatsStore(doc, config.statsTableName),
  publishers,
  logger,
  publishTelemetryChanges: config.publishTelemetryChanges,
});
const metrics = new Metrics();

/** Lambda entry point (ReportBatchItemFailures); flushes ChangeRecords / ChangeBatchItemFailures per batch. */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  metrics.addMetric(CHANGE_FEED_METRICS.records, MetricUnit.Count, event.Records?.length ?? 0);
  try {
    const response = await handleChanges(event);
    // One reported failure per shard: the batch is retried from that record on.
    metrics.addMetric(CHANGE_FEED_METRICS.batchItemFailures, MetricUnit.Count, response.batchItemFailures.length);
    return response;
  } finally {
    metrics.publishStoredMetrics();
  }
};
