import { describe, expect, it } from 'vitest';
import { readEventsConfig } from '../../../lambdas/events/config.js';

describe('readEventsConfig', () => {
  it('fails naming the missing variable', () => {
    // Act / Assess
    expect(() => readEventsConfig({})).toThrow('Missing environment variable STATS_TABLE_NAME');
  });

  it('turns publishers on only when their variables are set', () => {
    // Act
    const bare = readEventsConfig({ STATS_TABLE_NAME: 'stats' });
    const full = readEventsConfig({ STATS_TABLE_NAME: 'stats', APPSYNC_GRAPHQL_URL: 'https://x/graphql', CHANGE_TOPIC_ENABLED: 'true' });

    // Assess
    expect(bare).toEqual({ statsTableName: 'stats', changeTopicEnabled: false, publishTelemetryChanges: true });
    expect(full).toEqual({ statsTableName: 'stats', appSyncGraphqlUrl: 'https://x/graphql', changeTopicEnabled: true, publishTelemetryChanges: true });
  });

  it('stops fanning out telemetry-only changes with PUBLISH_TELEMETRY_CHANGES=false', () => {
    // Act
    const config = readEventsConfig({ STATS_TABLE_NAME: 'stats', PUBLISH_TELEMETRY_CHANGES: 'false' });

    // Assess
    expect(config.publishTelemetryChanges).toBe(false);
  });

  it.each([['no'], ['TRUE'], ['0']])('refuses PUBLISH_TELEMETRY_CHANGES=%s naming the variable', (value) => {
    // Act / Assess
    expect(() => readEventsConfig({ STATS_TABLE_NAME: 'stats', PUBLISH_TELEMETRY_CHANGES: value })).toThrow(
      /PUBLISH_TELEMETRY_CHANGES must be true or false/,
    );
  });
});
