/**
 * Ingest Lambda: the cloud composition root of the telemetry pipeline. Kinesis batches of
 * telemetry rule outputs → createIngestHandler with the DynamoDB device-state writer, the
 * telemetry store chosen by TELEMETRY_STORE, and the SQS dead-letter queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { INGEST_METRICS } from '../../src/contracts/metrics.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { SqsDeadLetterQueue } from '../../src/adapters/sqs/sqs-dead-letter-queue.js';
import { DynamoDbTelemetryStore } from '../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { TimestreamTelemetryStore } from '../../src/adapters/telemetry/timestream-telemetry-store.js';
import { createIngestHandler } from '../../src/devices/ingest-handler.js';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { AlarmEvaluation, cachedDeviceTypes } from '../../src/alarms/alarm-evaluation.js';
import { CachedRules } from '../../src/alarms/rule-cache.js';
import type { TelemetryWriter } from '../../src/ports/telemetry-store.js';
import { readIngestEnvironment } from '../../src/contracts/environment/ingest-function.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readIngestEnvironment();
const doc = createDocumentClient();

const telemetry: TelemetryWriter =
  config.telemetry.store === 'dynamodb'
    ? new DynamoDbTelemetryStore(doc, config.telemetry.tableName, { retentionDays: config.retentionDays })
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

const ingest = createIngestHandler({
  devices: new DynamoDbDeviceStateWriter(doc, config.devicesTableName),
  telemetry,
  deadLetters: new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl),
  ...(alarms && { alarms }),
  observer: {
    batch: (summary) => {
      metrics.addMetric(INGEST_METRICS.received, MetricUnit.Count, summary.records);
      metrics.addMetric(INGEST_METRICS.stored, MetricUnit.Count, summary.stored);
      metrics.addMetric(INGEST_METRICS.deadLettered, MetricUnit.Count, summary.deadLettered);
      metrics.addMetric(INGEST_METRICS.stateWrites, MetricUnit.Count, summary.stateApplied);
      metrics.addMetric(INGEST_METRICS.failed, MetricUnit.Count, summary.failed);
      if (summary.deadLettered > 0) logger.warn('Records dead-lettered', { reasons: summary.reasons });
      logger.info('Batch processed', { ...summary });
    },
    failure: (stage, error, records) => logger.error('Infrastructure failure; records will be retried', { stage, records, error: error as Error }),
  },
});
logger.info('Ingest handler configured', { telemetryStore: config.telemetry.store });

/** Lambda entry point (Kinesis event source with ReportBatchItemFailures). */
export const handler = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  try {
    return await ingest(event);
  } finally {
    metrics.publishStoredMetrics();
  }
};
