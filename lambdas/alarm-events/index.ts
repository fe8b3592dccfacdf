/**
 * Alarm-events Lambda: the composition root of alarm notifications. DynamoDB stream of the
 * Alarms table (instance writes only) → history, then EventBridge and SNS (when the rule
 * notifies) and the live doors (alarmUpdated through AppSync, WatchAlarms through IoT), then
 * rules' command actions through the command use case.
 */
import { randomBytes } from 'node:crypto';
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
import { AlarmCommandActions } from '../../src/alarms/alarm-command-action.js';
import { CommandService } from '../../src/commands/command-service.js';
import { DynamoDbCommandRepository } from '../../src/adapters/dynamodb/command-repository.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { IotDataDeviceMessenger } from '../../src/adapters/iot/iot-data-device-messenger.js';
import { RegistryDevicePresence } from '../../src/adapters/registry-device-presence.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readAlarmEventsEnvironment();

const doc = createDocumentClient();
const store = new DynamoDbAlarmStore(doc, config.alarmsTableName);
const iotData = new IoTDataPlaneClient({});
const commands = new CommandService({
  commands: new DynamoDbCommandRepository(doc, config.commandsTableName),
  presence: new RegistryDevicePresence(new DynamoDbDeviceRepository(doc, config.devicesTableName)),
  messenger: new IotDataDeviceMessenger(iotData),
  // This function never lists commands, so its page tokens are never handed out.
  pageTokens: createPageTokenCodec(randomBytes(32)),
  onDeliveryError: (error, command) => logger.warn('Alarm command publish failed; the device gets it on its next subscription', { commandId: command.id, error: error as Error }),
});

const live: AlarmPublisher[] = [];
// Lambda puts the role's credentials in the environment: the env-only provider reads just those.
if (config.appSync) live.push(new AppSyncAlarmPublisher({ ...config.appSync, credentials: fromEnv() }));
if (config.alarmTopicEnabled) live.push(new IotAlarmPublisher(iotData));

const handle = composeAlarmEventsFunction({
  history: store,
  live,
  notify: [new EventBridgeAlarmPublisher(new EventBridgeClient({}), config.eventBusName), new SnsAlarmPublisher(new SNSClient({}), config.topicArn)],
  actions: new AlarmCommandActions({ rules: store, commands }),
  logger,
});

/** Lambda entry point (ReportBatchItemFailures). */
export const handler = lambdaEntry({ logger, metrics }, handle);
