/**
 * GraphQL resolver Lambda: the composition root of the AppSync door. AppSync invokes it as a
 * direct Lambda resolver for every Query and Mutation field except the NONE-backed ones.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { createDeviceControlServices } from '../../src/adapters/device-control-services.js';
import { IotDataDeviceMessenger } from '../../src/adapters/iot/iot-data-device-messenger.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { resolvePageTokenSecret } from '../../src/adapters/secrets/page-token-secret.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { DynamoDbTelemetryStore } from '../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { TimestreamTelemetryReader } from '../../src/adapters/telemetry/timestream-telemetry-reader.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { AlarmService } from '../../src/alarms/alarm-service.js';
import { TelemetryHistory } from '../../src/domain/telemetry-history.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import { composeGraphqlFunction } from '../../src/functions/graphql-function.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { powertoolsMetrics } from '../../src/adapters/powertools/powertools-metrics.js';
import type { TelemetryReader } from '../../src/ports/telemetry-store.js';
import { readGraphqlEnvironment } from '../../src/contracts/environment/graphql-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readGraphqlEnvironment();
const doc = createDocumentClient();

const telemetry: TelemetryReader =
  config.telemetry.store === 'dynamodb'
    ? new DynamoDbTelemetryStore(doc, config.telemetry.tableName)
    : new TimestreamTelemetryReader(new TimestreamQueryClient({}), config.telemetry);

const pageTokens = createPageTokenCodec(await resolvePageTokenSecret(config.pageTokenSecret));
const { commands, twins } = createDeviceControlServices({
  doc,
  tables: { devices: config.devicesTableName, commands: config.commandsTableName, twins: config.twinsTableName },
  messenger: new IotDataDeviceMessenger(new IoTDataPlaneClient({})),
  pageTokens,
  onDeliveryError: (error, deviceId) => logger.warn('Publish to a device failed; it gets it on its next subscription', { deviceId, error: error as Error }),
});
const repository = new DynamoDbDeviceRepository(doc, config.devicesTableName);
const resolve = composeGraphqlFunction({
  commands,
  twins,
  registry: new DeviceRegistry({ repository, stats: new DynamoDbStatsStore(doc, config.statsTableName), pageTokens }),
  telemetry: new TelemetryHistory({ reader: telemetry, pageTokens }),
  alarms: new AlarmService({ store: new DynamoDbAlarmStore(doc, config.alarmsTableName), pageTokens, devices: repository }),
  logger,
  metrics: powertoolsMetrics(metrics),
});

/** Lambda entry point (AppSync direct Lambda resolver). */
export const handler = lambdaEntry({ logger, metrics }, resolve);
