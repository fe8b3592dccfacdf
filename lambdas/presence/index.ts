/**
 * Presence Lambda: the cloud composition root of the lifecycle pipeline. The presence rule
 * invokes it asynchronously with one IoT lifecycle event; an outage throws, so Lambda's async
 * retries and the on-failure destination take over.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { SqsDeadLetterQueue } from '../../src/adapters/sqs/sqs-dead-letter-queue.js';
import { createPresenceHandler, type PresenceResult } from '../../src/devices/presence-handler.js';
import { readPresenceEnvironment } from '../../src/contracts/environment/presence-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readPresenceEnvironment();

const presence = createPresenceHandler({
  devices: new DynamoDbDeviceStateWriter(createDocumentClient(), config.devicesTableName),
  deadLetters: new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl),
  observer: (result, event) => {
    metrics.addMetric(`Presence_${result}`, MetricUnit.Count, 1);
    if (result === 'invalid' || result === 'unknown') logger.warn('Lifecycle event not applied', { result, event: event as Record<string, unknown> });
    else logger.info('Lifecycle event', { result });
  },
});

/** Lambda entry point: the event is the lifecycle event JSON (`SELECT *`). */
export const handler = async (event: unknown): Promise<PresenceResult> => {
  try {
    return await presence(event);
  } finally {
    metrics.publishStoredMetrics();
  }
};
