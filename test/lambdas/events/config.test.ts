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
    expect(bare).toEqual({ statsTableName: 'stats', changeTopicEnabled: false });
    expect(full).toEqual({ statsTableName: 'stats', appSyncGraphqlUrl: 'https://x/graphql', changeTopicEnabled: true });
  });
});
