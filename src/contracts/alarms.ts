/**
 * What the alarm infrastructure and the alarm runtime agree on: how published transitions are
 * labelled on EventBridge, how often the scheduled sweep runs, and how the Alarms stream is
 * consumed. The alarm domain itself is src/alarms/.
 */
import type { StreamMappingSettings } from './stream-mappings.js';

/** EventBridge `source` of alarm transition events. */
export const ALARM_EVENT_SOURCE = 'iot-platform.alarms';
/** EventBridge `detail-type` of alarm transition events. */
export const ALARM_EVENT_DETAIL_TYPE = 'Alarm State Change';

/** How often no-data rules and ended snoozes are swept in the cloud (an EventBridge schedule). */
export const ALARM_SWEEP_INTERVAL_SECONDS = 60;

/** Alarms table stream → alarm-events Lambda: transitions of one alarm stay in order. */
export const ALARM_STREAM_MAPPING: StreamMappingSettings = Object.freeze({
  retryAttempts: 5,
  maxRecordAgeSeconds: 6 * 3600,
  parallelizationFactor: 1,
});

/** Stream records per alarm-events invocation. */
export const ALARM_STREAM_BATCH_SIZE = 100;

/** Partition-key prefix of alarm instance items: the stream mapping's filter lets only their writes through. */
export const ALARM_INSTANCE_KEY_PREFIX = 'DEV#';
/** Sort-key prefix of alarm instance items (a device's partition also holds its pending-run markers, which the filter keeps out). */
export const ALARM_INSTANCE_SORT_PREFIX = 'ALARM#';
