/**
 * Alarm-events Lambda: the composition root of alarm notifications. DynamoDB stream of the
 * Alarms table (instance writes only) → history, then EventBridge and SNS (when the rule
 * notifies) and the live doors (alarmUpdated through AppSync, WatchAlarms through IoT).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { SNSClient } from '@aws-sdk/client-sns';
import { AppSyncAlarmPublisher } from '../../src/adapters/appsync/appsync-alarm-publisher.js';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { EventBridgeAlarmPublisher } from '../../src/adapters/eventbridge/eventbridge-alarm-publisher.js';
import { IotAlarmPublisher } from '../../src/adapters/iot/iot-alarm-publisher.js';
import { SnsAlarmPublisher } from '../../src/adapters/sns/sns-alarm-publisher.js';
import { composeAlarmEventsFunction } from '../../src/functions/alarm-events-function.js';
import type { AlarmPublisher } from '../../src/alarms/alarm-notification.js';
import { readAlarmEventsEnvironment } from '../../src/contracts/environment/alarm-functions.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readAlarmEventsEnvironment();

const live: AlarmPublisher[] = [];
// Lambda puts the role's credentials in the environment: the env-only provider reads just those.
if (config.appSync) live.push(new AppSyncAlarmPublisher({ ...config.appSync, credentials: fromEnv() }));
if (config.alarmTopicEnabled) live.push(new IotAlarmPublisher(new IoTDataPlaneClient({})));

const handle = composeAlarmEventsFunction({
  history: new DynamoDbAlarmStore(createDocumentClient(), config.alarmsTableName),
  live,
  notify: [new EventBridgeAlarmPublisher(new EventBridgeClient({}), config.eventBusName), new SnsAlarmPublisher(new SNSClient({}), config.topicArn)],
  logger,
});

/** Lambda entry point (ReportBatchItemFailures). */
export const handler = lambdaEntry({ logger, metrics }, handle);
