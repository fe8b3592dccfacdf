import { describe, expect, it } from 'vitest';
import { readGraphqlConfig } from '../../../lambdas/graphql/config.js';

const base = { DEVICES_TABLE_NAME: 'd', STATS_TABLE_NAME: 's', ALARMS_TABLE_NAME: 'a', TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 't', PAGE_TOKEN_SECRET_ARN: 'arn:secret' };

describe('GraphQL Lambda config', () => {
  it('reads tables, the telemetry store and the page-token secret ARN', () => {
    // Act
    const config = readGraphqlConfig(base);

    // Assess
    expect(config).toEqual({
      devicesTableName: 'd',
      statsTableName: 's',
      alarmsTableName: 'a',
      telemetry: { store: 'dynamodb', tableName: 't' },
      pageTokenSecret: { arn: 'arn:secret' },
    });
  });

  it('reads the Timestream names when telemetry lives there', () => {
    // Act
    const config = readGraphqlConfig({ ...base, TELEMETRY_STORE: 'timestream', TIMESTREAM_DATABASE_NAME: 'db', TIMESTREAM_TABLE_NAME: 'tt' });

    // Assess
    expect(config.telemetry).toEqual({ store: 'timestream', databaseName: 'db', tableName: 'tt' });
  });

  it.each([
    ['DEVICES_TABLE_NAME', /Missing environment variable DEVICES_TABLE_NAME/],
    ['STATS_TABLE_NAME', /Missing environment variable STATS_TABLE_NAME/],
    ['ALARMS_TABLE_NAME', /Missing environment variable ALARMS_TABLE_NAME/],
    ['TELEMETRY_STORE', /Missing environment variable TELEMETRY_STORE/],
    ['PAGE_TOKEN_SECRET_ARN', /Missing environment variable PAGE_TOKEN_SECRET_ARN/],
  ])('fails naming %s when it is missing', (name, message) => {
    // Prepare
    const env: Record<string, string> = { ...base };
    delete env[name];

    // Act / Assess
    expect(() => readGraphqlConfig(env)).toThrow(message);
  });

  it('refuses an unknown telemetry store naming the variable and the choices', () => {
    // Act / Assess
    expect(() => readGraphqlConfig({ ...base, TELEMETRY_STORE: 'influx' })).toThrow('TELEMETRY_STORE=influx: use dynamodb or timestream');
  });
});
