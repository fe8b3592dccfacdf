/**
 * Alarm-events Lambda: the composition root of alarm notifications. DynamoDB stream of the
 * Alarms table (instance writes only) → history, then EventBridge and SNS (when the rule
 * notifies) and the live doors (alarmUpdated through AppSync, WatchAlarms through IoT).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { AppSyncAlarmPublisher } from '../../src/adapters/appsync/appsync-alarm-publisher.js';
import { credentialsFromEnv, requiredRegion } from '../../src/adapters/appsync/appsync-change-publisher.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { EventBridgeAlarmPublisher } from '../../src/adapters/eventbridge/eventbridge-alarm-publisher.js';
import { IotAlarmPublisher } from '../../src/adapters/iot/iot-alarm-publisher.js';
import { SnsAlarmPublisher } from '../../src/adapters/sns/sns-alarm-publisher.js';
import { createAlarmEventsHandler } from '../../src/alarms/alarm-events-handler.js';
import type { AlarmPublisher } from '../../src/alarms/alarm-notification.js';
import { readAlarmEventsEnvironment } from '../../src/contracts/environment/alarm-functions.js';

const logger = new Logger();
const config = readAlarmEventsEnvironment();

const live: AlarmPublisher[] = [];
if (config.appSyncGraphqlUrl) live.push(new AppSyncAlarmPublisher({ url: config.appSyncGraphqlUrl, region: requiredRegion(), credentials: credentialsFromEnv() }));
if (config.alarmTopicEnabled) live.push(new IotAlarmPublisher(new IoTDataPlaneClient({})));

const handle = createAlarmEventsHandler({
  history: new DynamoDbAlarmStore(createDocumentClient(), config.alarmsTableName),
  live,
  notify: [new EventBridgeAlarmPublisher(new EventBridgeClient({}), config.eventBusName), new SnsAlarmPublisher(new SNSClient({}), config.topicArn)],
  onPublished: (n) => logger.info('Alarm transition published', { eventId: n.eventId, from: n.from, to: n.to, severity: n.severity }),
  onFailure: (error) => logger.error('Alarm transition not published; the stream retries it', { error: error as Error }),
});

/** Lambda entry point (ReportBatchItemFailures). */
export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => handle(event);
