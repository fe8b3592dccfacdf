/** The alarm functions' environments: set by lib/alarms.ts, read once at cold start. */
import { configReader, type Environment } from '../config-reader.js';
import { ALARMS_TABLE, COMMANDS_TABLE, DEVICES_TABLE } from '../tables.js';
import { VARIABLES } from './variables.js';
import { readRegion } from './region.js';

/** Settings of the alarm-events function (the Alarms stream consumer). */
export interface AlarmEventsEnvironment {
  readonly alarmsTableName: string;
  readonly eventBusName: string;
  readonly topicArn: string;
  /** AppSync endpoint (and region) of the alarmUpdated publisher; off when unset. */
  readonly appSync?: { readonly url: string; readonly region: string };
  /** Whether transitions are republished on the internal IoT alarm topics (WatchAlarms). */
  readonly alarmTopicEnabled: boolean;
  /** Tables of the command use case rules' command actions go through. */
  readonly commandsTableName: string;
  readonly devicesTableName: string;
}

/** Reads the alarm-events environment; throws ConfigError naming the first missing variable. */
export function readAlarmEventsEnvironment(env: Environment = process.env): AlarmEventsEnvironment {
  const read = configReader(env);
  const appSyncGraphqlUrl = read.optional(VARIABLES.appSyncGraphqlUrl);
  return {
    alarmsTableName: read.required(ALARMS_TABLE.tableNameEnv),
    eventBusName: read.required(VARIABLES.alarmEventBusName),
    topicArn: read.required(VARIABLES.alarmTopicArn),
    ...(appSyncGraphqlUrl && { appSync: { url: appSyncGraphqlUrl, region: readRegion(read) } }),
    alarmTopicEnabled: read.boolean(VARIABLES.alarmTopicEnabled, false),
    commandsTableName: read.required(COMMANDS_TABLE.tableNameEnv),
    devicesTableName: read.required(DEVICES_TABLE.tableNameEnv),
  };
}

/** Settings of the alarm-sweep function (no-data rules and ended snoozes, on a schedule). */
export interface AlarmSweepEnvironment {
  readonly alarmsTableName: string;
  readonly devicesTableName: string;
}

/** Reads the alarm-sweep environment. */
export function readAlarmSweepEnvironment(env: Environment = process.env): AlarmSweepEnvironment {
  const read = configReader(env);
  return { alarmsTableName: read.required(ALARMS_TABLE.tableNameEnv), devicesTableName: read.required(DEVICES_TABLE.tableNameEnv) };
}
