/**
 * Presence Lambda: the cloud composition root of the lifecycle pipeline. The presence rule
 * invokes it asynchronously with one IoT lifecycle event; an outage throws, so Lambda's async
 * retries and the on-failure destination take over.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { SqsDeadLetterQueue } from '../../src/adapters/sqs/sqs-dead-letter-queue.js';
import { composePresenceFunction } from '../../src/functions/presence-function.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { powertoolsMetrics } from '../../src/adapters/powertools/powertools-metrics.js';
import { readPresenceEnvironment } from '../../src/contracts/environment/presence-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readPresenceEnvironment();

const presence = composePresenceFunction({
  devices: new DynamoDbDeviceStateWriter(createDocumentClient(), config.devicesTableName),
  deadLetters: new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl),
  logger,
  metrics: powertoolsMetrics(metrics),
});

/** Lambda entry point: the event is the lifecycle event JSON (`SELECT *`). */
export const handler = lambdaEntry({ logger, metrics }, presence);
