/**
 * Events Lambda: the composition root of the change feed in the cloud. DynamoDB stream of the
 * Devices table → stats counters (always) → change publishers (when configured); stream of the
 * Commands table → command publishers.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { AppSyncChangePublisher } from '../../src/adapters/appsync/appsync-change-publisher.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { composeEventsFunction } from '../../src/functions/events-function.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { powertoolsMetrics } from '../../src/adapters/powertools/powertools-metrics.js';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { IotChangePublisher } from '../../src/adapters/iot/iot-change-publisher.js';
import type { ChangePublisher } from '../../src/ports/change-feed.js';
import { AppSyncCommandPublisher } from '../../src/adapters/appsync/appsync-command-publisher.js';
import { IotCommandChangePublisher } from '../../src/adapters/iot/iot-command-change-publisher.js';
import type { CommandChangePublisher } from '../../src/commands/command-change.js';
import { readEventsEnvironment } from '../../src/contracts/environment/events-function.js';
import { IoTClient } from '@aws-sdk/client-iot';
import { IotCredentialRetirer } from '../../src/adapters/iot/iot-credential-retirer.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readEventsEnvironment();
const doc = createDocumentClient();

const publishers: ChangePublisher[] = [];
// ---- Change publishers: each owner adds its one line here, guarded by its config flag. ----
if (config.appSync) {
  // Lambda puts the role's credentials in the environment: the env-only provider skips loading
  // the whole default chain (SSO, INI, IMDS) into every cold start.
  publishers.push(new AppSyncChangePublisher({ ...config.appSync, credentials: fromEnv() }));
}
const iotData = new IoTDataPlaneClient({});
if (config.changeTopicEnabled) publishers.push(new IotChangePublisher(iotData));
// ---- end of change publishers ----
// Command transitions (the Commands stream) go to commandUpdated and WatchCommands the same way.
const commandPublishers: CommandChangePublisher[] = [];
if (config.appSync) commandPublishers.push(new AppSyncCommandPublisher({ ...config.appSync, credentials: fromEnv() }));
if (config.changeTopicEnabled) commandPublishers.push(new IotCommandChangePublisher(iotData));
logger.info('Events handler configured', {
  statsTable: config.statsTableName,
  publishers: publishers.length,
  appSync: config.appSync !== undefined,
  changeTopic: config.changeTopicEnabled,
  publishTelemetryChanges: config.publishTelemetryChanges,
  commandPublishers: commandPublishers.length,
  retireDeletedCredentials: config.retireDeletedCredentials,
});

const handleChanges = composeEventsFunction({
  stats: new DynamoDbStatsStore(doc, config.statsTableName),
  publishers,
  logger,
  metrics: powertoolsMetrics(metrics),
  publishTelemetryChanges: config.publishTelemetryChanges,
  commandPublishers,
  ...(config.retireDeletedCredentials && { retirer: new IotCredentialRetirer(new IoTClient({ credentials: fromEnv() })) }),
});

/** Lambda entry point (ReportBatchItemFailures); flushes ChangeRecords / ChangeBatchItemFailures per batch. */
export const handler = lambdaEntry({ logger, metrics }, handleChanges);
