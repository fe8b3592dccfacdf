/**
 * Composition root of the gRPC DeviceService on ECS Fargate: reads the environment once,
 * wires DynamoDB, the page-token secret and the IoT change topics into the server, and shuts
 * down gracefully on SIGTERM (ECS stop) before the stop timeout.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { DescribeEndpointCommand, IoTClient } from '@aws-sdk/client-iot';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { resolvePageTokenSecret } from '../adapters/secrets/page-token-secret.js';
import { DEVICE_SERVICE_CLIENT_ID_PREFIX } from '../contracts/client-ids.js';
import { ConfigError } from '../contracts/config-reader.js';
import {
  DESCRIBE_IOT_ENDPOINT,
  DEVICE_SERVICE_VARIABLES,
  readDeviceServiceEnvironment,
  readDeviceServiceLogLevel,
  type DeviceServiceEnvironment,
} from '../contracts/environment/device-service.js';
import { IotMqttMessageBus } from '../adapters/iot/iot-mqtt-message-bus.js';
import { createDocumentClient } from '../adapters/dynamodb/client.js';
import { DynamoDbDeviceRepository } from '../adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../adapters/dynamodb/stats-store.js';
import { DeviceRegistry } from '../domain/device-registry.js';
import { DynamoDbAlarmStore } from '../adapters/dynamodb/alarm-store.js';
import { AlarmService } from '../alarms/alarm-service.js';
import { subscribeToAlarms } from './watch-alarms.js';
import { createPageTokenCodec } from '../domain/page-token.js';
import { pinoLogger, type FlushableLogger } from '../adapters/logging/pino-logger.js';
import type { LogLevel } from '../contracts/log-levels.js';
import { DYNAMODB_CLIENT_LIMITS } from './config.js';
import { cognitoAccessTokenVerifier } from './access-token-verifier.js';
import { subscribeToChanges } from './message-bus-change-source.js';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { createDeviceControlServices } from '../adapters/device-control-services.js';
import { IotDataDeviceMessenger } from '../adapters/iot/iot-data-device-messenger.js';
import { subscribeToCommandChanges, type CommandChangeSource } from './command-change-source.js';
import { startDeviceServer } from './server.js';
import { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { DynamoDbTelemetryStore } from '../adapters/telemetry/dynamodb-telemetry-store.js';
import { TimestreamTelemetryReader } from '../adapters/telemetry/timestream-telemetry-reader.js';
import { TelemetryHistory } from '../domain/telemetry-history.js';
import { createTaskTlsIdentity } from './task-tls-identity.js';
import { exitAfterFlush, exitOnSignal } from './exit-on-signal.js';

// An invalid LOG_LEVEL still gets its startup error logged (at info), naming the variable.
const log: FlushableLogger = pinoLogger({ level: logLevelOrInfo() });

async function main(): Promise<void> {
  const config = readDeviceServiceEnvironment(process.env);
  const doc = createDocumentClient({ region: config.region, ...DYNAMODB_CLIENT_LIMITS });
  const repository = new DynamoDbDeviceRepository(doc, config.devicesTableName);
  const pageTokens = createPageTokenCodec(await resolvePageTokenSecret(config.pageTokenSecret, new SecretsManagerClient({ region: config.region })));
  const registry = new DeviceRegistry({ repository, stats: new DynamoDbStatsStore(doc, config.statsTableName), pageTokens });
  const alarmService = new AlarmService({ store: new DynamoDbAlarmStore(doc, config.alarmsTableName), pageTokens, devices: repository });
  const credentials = defaultProvider();
  const bus = await IotMqttMessageBus.connect({
    endpoint: await iotEndpoint(config),
    region: config.region,
    credentials: () => credentials(),
    clientId: `${DEVICE_SERVICE_CLIENT_ID_PREFIX}${hostname().slice(0, 40)}-${randomUUID().slice(0, 8)}`,
    ...(config.iotEndpointUrl && { url: config.iotEndpointUrl }),
    log,
  });
  const changes = await subscribeToChanges(bus, log);
  const transitions = await subscribeToAlarms(bus, log);
  let commandChanges: CommandChangeSource | undefined;
  let control;
  if (config.deviceControl) {
    commandChanges = await subscribeToCommandChanges(bus, log);
    const services = createDeviceControlServices({
      doc,
      tables: { devices: config.devicesTableName, commands: config.deviceControl.commandsTableName, twins: config.deviceControl.twinsTableName },
      messenger: new IotDataDeviceMessenger(new IoTDataPlaneClient({ region: config.region })),
      pageTokens,
      onDeliveryError: (error, deviceId) => log.warn('publish to a device failed; it gets it on its next subscription', { deviceId, error: String(error) }),
    });
    control = { ...services, commandChanges };
  }
  const telemetryReader =
    config.telemetry?.store === 'dynamodb'
      ? new DynamoDbTelemetryStore(doc, config.telemetry.tableName)
      : config.telemetry?.store === 'timestream'
        ? new TimestreamTelemetryReader(new TimestreamQueryClient({ region: config.region }), { databaseName: config.telemetry.databaseName, tableName: config.telemetry.tableName })
        : undefined;
  const server = await startDeviceServer({
    registry,
    changes,
    ...(control && { control }),
    ...(telemetryReader && { telemetry: new TelemetryHistory({ reader: telemetryReader, pageTokens }) }),
    alarms: { service: alarmService, transitions },
    host: config.host,
    port: config.port,
    log,
    tls: await createTaskTlsIdentity(),
    verifyToken: cognitoAccessTokenVerifier({
      userPoolId: config.userPoolId,
      clientIds: config.accessTokenClientIds,
      ...(config.cognitoEndpointUrl && { endpointUrl: config.cognitoEndpointUrl }),
    }),
    reflection: config.reflection,
    probeIntervalMs: config.probeIntervalMs,
    // A cheap read proves DynamoDB answers with this task's credentials.
    probe: async () => {
      await doc.send(new GetCommand({ TableName: config.devicesTableName, Key: { id: '00000000-0000-0000-0000-000000000000' } }));
    },
  });

  exitOnSignal(log, async () => {
    await server.shutdown(config.shutdownGraceMs);
    await changes.close();
    await commandChanges?.close();
    await transitions.close();
    await bus.close();
  });
}

/** The IoT data endpoint; `describe` looks the account's ATS endpoint up (iot:DescribeEndpoint). */
async function iotEndpoint(config: DeviceServiceEnvironment): Promise<string> {
  if (config.iotEndpoint !== DESCRIBE_IOT_ENDPOINT || config.iotEndpointUrl) return config.iotEndpoint;
  const client = new IoTClient({ region: config.region });
  const { endpointAddress } = await client.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));
  client.destroy();
  if (!endpointAddress) throw new ConfigError(DEVICE_SERVICE_VARIABLES.iotEndpoint, 'is "describe" but iot:DescribeEndpoint returned no address');
  return endpointAddress;
}

function logLevelOrInfo(): LogLevel {
  try {
    return readDeviceServiceLogLevel(process.env);
  } catch {
    return 'info';
  }
}

main().catch((error: unknown) => {
  log.error('startup failed', { error: error instanceof Error ? error.message : String(error) });
  exitAfterFlush(log, 1);
});
