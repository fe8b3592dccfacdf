/**
 * Events Lambda: the composition root of the change feed in the cloud. DynamoDB stream of the
 * Devices table → stats counters (always) → change publishers (when configured).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { AppSyncChangePublisher } from '../../src/adapters/appsync/appsync-change-publisher.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { composeEventsFunction } from '../../src/functions/events-function.js';
import { powertoolsMetrics } from '../../src/adapters/metrics/powertools-metrics.js';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { IotChangePublisher } from '../../src/adapters/iot/iot-change-publisher.js';
import type { ChangePublisher } from '../../src/ports/change-feed.js';
import { readEventsEnvironment } from '../../src/contracts/environment/events-function.js';

const logger = new Logger();
const config = readEventsEnvironment();
const doc = createDocumentClient();

const publishers: ChangePublisher[] = [];
// ---- Change publishers: each owner adds its one line here, guarded by its config flag. ----
if (config.appSync) {
  // Lambda puts the role's credentials in the environment: the env-only provider skips loading
  // the whole default chain (SSO, INI, IMDS) into every cold start.
  publishers.push(new AppSyncChangePublisher({ ...config.appSync, credentials: fromEnv() }));
}
if (config.changeTopicEnabled) publishers.push(new IotChangePublisher(new IoTDataPlaneClient({})));
// ---- end of change publishers ----
logger.info('Events handler configured', {
  statsTable: config.statsTableName,
  publishers: publishers.length,
  appSync: config.appSync !== undefined,
  changeTopic: config.changeTopicEnabled,
  publishTelemetryChanges: config.publishTelemetryChanges,
});

const handleChanges = composeEventsFunction({
  stats: new DynamoDbStatsStore(doc, config.statsTableName),
  publishers,
  logger,
  metrics: powertoolsMetrics(new Metrics()),
  publishTelemetryChanges: config.publishTelemetryChanges,
});

/** Lambda entry point (ReportBatchItemFailures); flushes ChangeRecords / ChangeBatchItemFailures per batch. */
export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => handleChanges(event);
