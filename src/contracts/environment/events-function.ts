/** The events (change feed) function's environment: set by lib/change-feed.ts and the publishers' constructs. */
import { configReader, type Environment } from '../config-reader.js';
import { STATS_TABLE } from '../tables.js';
import { readRegion } from './region.js';
import { VARIABLES } from './variables.js';

/** Settings the events function runs with. */
export interface EventsEnvironment {
  readonly statsTableName: string;
  /** The deviceUpdated publisher's AppSync endpoint and the region it signs for; off when APPSYNC_GRAPHQL_URL is unset. */
  readonly appSync?: { readonly url: string; readonly region: string };
  /** Whether changes are republished on the internal IoT change topics. */
  readonly changeTopicEnabled: boolean;
  /** Whether telemetry-only changes (lastSeen/readings) reach the publishers (stack flag liveTelemetryUpdates). */
  readonly publishTelemetryChanges: boolean;
  /** Whether a deleted device's IoT certificate is revoked and detached (always in the cloud). */
  readonly retireDeletedCredentials: boolean;
}

/** Reads the environment; throws ConfigError naming the first missing or invalid variable. */
export function readEventsEnvironment(env: Environment = process.env): EventsEnvironment {
  const read = configReader(env);
  const appSyncGraphqlUrl = read.optional(VARIABLES.appSyncGraphqlUrl);
  return {
    statsTableName: read.required(STATS_TABLE.tableNameEnv),
    ...(appSyncGraphqlUrl && { appSync: { url: appSyncGraphqlUrl, region: readRegion(read) } }),
    changeTopicEnabled: read.boolean(VARIABLES.changeTopicEnabled, false),
    publishTelemetryChanges: read.boolean(VARIABLES.publishTelemetryChanges, true),
    retireDeletedCredentials: read.boolean(VARIABLES.retireDeletedCredentials, false),
  };
}

