/**
 * Alarm-sweep Lambda, run by an EventBridge schedule every ALARM_SWEEP_INTERVAL_SECONDS: ends
 * snoozes that ran out and evaluates no-data rules (whole-device and per-metric), through
 * indexes only, reading a device's silence only when it can be due.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { lambdaEntry } from '../../src/adapters/powertools/lambda-entry.js';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbAlarmStore } from '../../src/adapters/dynamodb/alarm-store.js';
import { DynamoDbDeviceSilenceSource } from '../../src/adapters/dynamodb/device-silence-source.js';
import { SilenceSchedule, sweepAlarms, type SweepSummary } from '../../src/alarms/alarm-sweep.js';
import { CachedRules } from '../../src/alarms/rule-cache.js';
import { readAlarmSweepEnvironment } from '../../src/contracts/environment/alarm-functions.js';

const logger = new Logger();
const metrics = new Metrics();
const config = readAlarmSweepEnvironment();
const doc = createDocumentClient();
const store = new DynamoDbAlarmStore(doc, config.alarmsTableName);
const rules = new CachedRules(store);
const devices = new DynamoDbDeviceSilenceSource(doc, config.devicesTableName);
// Kept while the container lives (a once-a-minute schedule keeps it warm): devices are read only when due.
const schedule = new SilenceSchedule();

/** Lambda entry point (scheduled event). */
export const handler = lambdaEntry({ logger, metrics }, async (): Promise<SweepSummary> => {
  const summary = await sweepAlarms({ store, rules, devices, schedule });
  logger.info('Alarm sweep done', { ...summary });
  return summary;
});
