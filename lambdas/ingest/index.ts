/**
 * Ingest Lambda: the cloud composition root of the telemetry pipeline. Kinesis batches of
 * telemetry rule outputs → the ingest function composition with the DynamoDB device-state writer, the
 * telemetry store chosen by TELEMETRY_STORE, and the SQS dead-letter queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { SqsDeadLetterQueue } from '../../src/adapters/sqs/sqs-dead-letter-queue.js';
import { DynamoDbTelemetryStore } from '../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { TimestreamTelemetryStore } from '../../src/adapters/telemetry/timestream-telemetry-store.js';
import { composeIngestFunction } from '../../src/functions/ingest-function.js';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { AlarmEvaluation, cachedDeviceTypes } from '../../src/alarms/alarm-evaluation.js';
import { CachedRules } from '../../src/alarms/rule-cache.js';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { powertoolsMetrics } from '../../src/adapters/powertools/powertools-metrics.js';
import type { TelemetryWriter } from '../../src/ports/telemetry-store.js';
import { readIngestEnvironment } from '../../src/contracts/environment/ingest-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readIngestEnvironment();
const doc = createDocumentClient();

const telemetry: TelemetryWriter =
  config.telemetry.store === 'dynamodb'
    ? new DynamoDbTelemetryStore(doc, config.telemetry.tableName, {
        retentionDays: config.retention.raw,
        rollupRetentionDays: { minute: config.retention.minute, hour: config.retention.hour, day: config.retention.day },
      })
    : new TimestreamTelemetryStore(new TimestreamWriteClient({}), {
        databaseName: config.telemetry.databaseName,
        tableName: config.telemetry.tableName,
      });

// Alarm rules (cached, ALARM_RULE_CACHE_MS) and each (rule, device)'s progress live as long as this container.
const alarmStore = config.alarmsTableName ? new DynamoDbAlarmStore(doc, config.alarmsTableName) : undefined;
const deviceRepository = new DynamoDbDeviceRepository(doc, config.devicesTableName);
const alarms = alarmStore
  ? new AlarmEvaluation({ store: alarmStore, rules: new CachedRules(alarmStore), deviceType: cachedDeviceTypes(async (id) => (await deviceRepository.get(id))?.type) })
  : undefined;

const ingest = composeIngestFunction({
  devices: new DynamoDbDeviceStateWriter(doc, config.devicesTableName),
  telemetry,
  deadLetters: new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl),
  ...(alarms && { alarms }),
  logger,
  metrics: powertoolsMetrics(metrics),
});
logger.info('Ingest handler configured', { telemetryStore: config.telemetry.store });

/** Lambda entry point (Kinesis event source with ReportBatchItemFailures). */
export const handler = lambdaEntry({ logger, metrics }, ingest);
