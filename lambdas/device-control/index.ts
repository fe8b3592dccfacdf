/**
 * Device control Lambda: the cloud composition root of what devices send back. The command
 * response, state and subscription rules invoke it asynchronously with one rule output; an
 * outage throws, so Lambda's async retries and the on-failure destination take over.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDeviceControlServices } from '../../src/adapters/device-control-services.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { IotDataDeviceMessenger } from '../../src/adapters/iot/iot-data-device-messenger.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { powertoolsMetrics } from '../../src/adapters/powertools/powertools-metrics.js';
import { SqsDeadLetterQueue } from '../../src/adapters/sqs/sqs-dead-letter-queue.js';
import { readDeviceControlEnvironment } from '../../src/contracts/environment/device-control-function.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import { composeDeviceControlFunction } from '../../src/functions/device-control-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readDeviceControlEnvironment();

const { commands, twins } = createDeviceControlServices({
  doc: createDocumentClient(),
  tables: { devices: config.devicesTableName, commands: config.commandsTableName, twins: config.twinsTableName },
  messenger: new IotDataDeviceMessenger(new IoTDataPlaneClient({})),
  // This function never lists commands, so its page tokens are never handed out.
  pageTokens: createPageTokenCodec(randomBytes(32)),
  onDeliveryError: (error, deviceId) => logger.warn('Publish to a device failed; it gets it on its next subscription', { deviceId, error: error as Error }),
});
const handle = composeDeviceControlFunction({
  commands,
  twins,
  deadLetters: new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl),
  logger,
  metrics: powertoolsMetrics(metrics),
});

/** Lambda entry point: the event is one rule output (`kind` response, state or subscribed). */
export const handler = lambdaEntry({ logger, metrics }, handle);
