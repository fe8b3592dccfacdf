/**
 * Presence reconciler Lambda: run by an EventBridge schedule, it compares the ONLINE devices
 * (status index, never a Scan) with IoT's live connectivity and sets OFFLINE, conditionally,
 * each device IoT has no connection for: a lost disconnect event no longer leaves it ONLINE
 * for good. The composition is the one the local platform runs against its broker.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { IoTClient } from '@aws-sdk/client-iot';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { IotConnectivitySource } from '../../src/adapters/iot/iot-connectivity.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { powertoolsMetrics } from '../../src/adapters/powertools/powertools-metrics.js';
import { readPresenceReconcilerEnvironment } from '../../src/contracts/environment/presence-reconciler-function.js';
import { composePresenceReconcilerFunction } from '../../src/functions/presence-reconciler-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readPresenceReconcilerEnvironment();
const doc = createDocumentClient();

const reconcile = composePresenceReconcilerFunction({
  repository: new DynamoDbDeviceRepository(doc, config.devicesTableName),
  devices: new DynamoDbDeviceStateWriter(doc, config.devicesTableName),
  // Throttling is retried by the source itself, with jitter, per thing.
  truth: new IotConnectivitySource(new IoTClient({ maxAttempts: 1 }), {
    onSkipped: (thingName, reason) => logger.warn('Connectivity unknown; device left as it is', { thingName, reason }),
  }),
  logger,
  metrics: powertoolsMetrics(metrics),
});

/** Lambda entry point (scheduled event; its content is not used). */
export const handler = lambdaEntry({ logger, metrics }, async () => reconcile());
