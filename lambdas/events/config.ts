/** Configuration of the events Lambda, read once from the environment at cold start. */
import { requiredVariable } from '../../src/config/env.js';

/** Settings the events Lambda runs with. */
export interface EventsConfig {
  /** Stats table (STATS_TABLE_NAME, set by Storage.grantStatsReadWrite). */
  readonly statsTableName: string;
  /** AppSync GraphQL endpoint for the deviceUpdated publisher (APPSYNC_GRAPHQL_URL); off when unset. */
  readonly appSyncGraphqlUrl?: string;
  /** Whether changes are republished on the internal IoT change topic (CHANGE_TOPIC_ENABLED=true). */
  readonly changeTopicEnabled: boolean;
}

/** Reads the configuration; throws naming the first missing variable, so a misdeployed function fails fast. */
export function readEventsConfig(env: NodeJS.ProcessEnv = process.env): EventsConfig {
  const required = requiredVariable(env);
  return {
    statsTableName: required('STATS_TABLE_NAME'),
    ...(env.APPSYNC_GRAPHQL_URL && { appSyncGraphqlUrl: env.APPSYNC_GRAPHQL_URL }),
    changeTopicEnabled: env.CHANGE_TOPIC_ENABLED === 'true',
  };
}
