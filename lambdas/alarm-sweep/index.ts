/**
 * Alarm-sweep Lambda, run by an EventBridge schedule every ALARM_SWEEP_INTERVAL_SECONDS: ends
 * snoozes that ran out and evaluates no-data rules, through indexes only.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { sweepAlarms, type SweepSummary } from '../../src/alarms/alarm-sweep.js';
import { CachedRules } from '../../src/alarms/rule-cache.js';
import { readAlarmSweepEnvironment } from '../../src/contracts/environment/alarm-functions.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readAlarmSweepEnvironment();
const doc = createDocumentClient();
const store = new DynamoDbAlarmStore(doc, config.alarmsTableName);
const rules = new CachedRules(store);
const devices = new DynamoDbDeviceRepository(doc, config.devicesTableName);

/** Lambda entry point (scheduled event). */
export const handler = lambdaEntry({ logger, metrics }, async (): Promise<SweepSummary> => {
  const summary = await sweepAlarms({ store, rules, devices });
  logger.info('Alarm sweep done', { ...summary });
  return summary;
});
