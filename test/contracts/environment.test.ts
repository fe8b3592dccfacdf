import { describe, expect, it } from 'vitest';
import { readDeviceServiceEnvironment } from '../../src/contracts/environment/device-service.js';
import { readEventsEnvironment } from '../../src/contracts/environment/events-function.js';
import { readGraphqlEnvironment } from '../../src/contracts/environment/graphql-function.js';
import { readIngestEnvironment } from '../../src/contracts/environment/ingest-function.js';
import { readPresenceEnvironment } from '../../src/contracts/environment/presence-function.js';

describe('ingest function environment', () => {
  const base = { DEVICES_TABLE_NAME: 'Devices', DEAD_LETTER_QUEUE_URL: 'https://sqs/q' };

  it('reads the DynamoDB telemetry store settings', () => {
    expect(readIngestEnvironment({ ...base, TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T', TELEMETRY_RETENTION_DAYS: '7' })).toEqual({
      devicesTableName: 'Devices',
      deadLetterQueueUrl: 'https://sqs/q',
      retention: { raw: 7, minute: 90, hour: 730, day: 1826 },
      telemetry: { store: 'dynamodb', tableName: 'T' },
    });
  });

  it('reads the retention of each rollup resolution', () => {
    const env = { ...base, TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T', TELEMETRY_MINUTE_RETENTION_DAYS: '60', TELEMETRY_HOUR_RETENTION_DAYS: '400', TELEMETRY_DAY_RETENTION_DAYS: '3650' };
    expect(readIngestEnvironment(env).retention).toEqual({ raw: 30, minute: 60, hour: 400, day: 3650 });
  });

  it('reads the Timestream settings, keeping 30 days by default', () => {
    expect(readIngestEnvironment({ ...base, TELEMETRY_STORE: 'timestream', TIMESTREAM_DATABASE_NAME: 'db', TIMESTREAM_TABLE_NAME: 't' })).toMatchObject({
      retention: { raw: 30, minute: 90, hour: 730, day: 1826 },
      telemetry: { store: 'timestream', databaseName: 'db', tableName: 't' },
    });
  });

  it.each([
    [{ ...base }, /^TELEMETRY_STORE: is required/],
    [{ ...base, TELEMETRY_STORE: 'dynamodb' }, /^TELEMETRY_TABLE_NAME: is required/],
    [{ ...base, TELEMETRY_STORE: 'timestream', TIMESTREAM_DATABASE_NAME: 'db' }, /^TIMESTREAM_TABLE_NAME: is required/],
    [{ ...base, TELEMETRY_STORE: 'influx' }, /^TELEMETRY_STORE: must be one of dynamodb, timestream, got "influx"/],
    [{ DEAD_LETTER_QUEUE_URL: 'q', TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T' }, /^DEVICES_TABLE_NAME: is required/],
    [{ ...base, TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T', TELEMETRY_RETENTION_DAYS: '0' }, /^TELEMETRY_RETENTION_DAYS: must be an integer/],
    [{ ...base, TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T', TELEMETRY_HOUR_RETENTION_DAYS: 'two years' }, /^TELEMETRY_HOUR_RETENTION_DAYS: must be an integer/],
  ])('fails fast naming the variable (%#)', (env, message) => {
    expect(() => readIngestEnvironment(env)).toThrow(message);
  });
});

describe('presence function environment', () => {
  it('reads the table and the dead-letter queue, failing fast naming a missing one', () => {
    expect(readPresenceEnvironment({ DEVICES_TABLE_NAME: 'D', DEAD_LETTER_QUEUE_URL: 'q' })).toEqual({ devicesTableName: 'D', deadLetterQueueUrl: 'q' });
    expect(() => readPresenceEnvironment({ DEVICES_TABLE_NAME: 'D' })).toThrow(/^DEAD_LETTER_QUEUE_URL: is required/);
  });
});

describe('events function environment', () => {
  it('fails naming the missing variable', () => {
    expect(() => readEventsEnvironment({})).toThrow(/^STATS_TABLE_NAME: is required/);
  });

  it('turns publishers on only when their variables are set', () => {
    // Act
    const bare = readEventsEnvironment({ STATS_TABLE_NAME: 'stats' });
    const full = readEventsEnvironment({ STATS_TABLE_NAME: 'stats', APPSYNC_GRAPHQL_URL: 'https://x/graphql', CHANGE_TOPIC_ENABLED: 'true', AWS_REGION: 'eu-west-1' });

    // Assess
    expect(bare).toEqual({ statsTableName: 'stats', changeTopicEnabled: false, publishTelemetryChanges: true, retireDeletedCredentials: false });
    expect(full).toEqual({
      statsTableName: 'stats',
      appSync: { url: 'https://x/graphql', region: 'eu-west-1' },
      changeTopicEnabled: true,
      publishTelemetryChanges: true,
      retireDeletedCredentials: false,
    });
    expect(() => readEventsEnvironment({ STATS_TABLE_NAME: 'stats', APPSYNC_GRAPHQL_URL: 'https://x/graphql' })).toThrow(/^AWS_REGION: is required/);
  });

  it('retires deleted devices\' certificates with RETIRE_DELETED_CREDENTIALS=true', () => {
    expect(readEventsEnvironment({ STATS_TABLE_NAME: 'stats', RETIRE_DELETED_CREDENTIALS: 'true' }).retireDeletedCredentials).toBe(true);
  });

  it('stops fanning out telemetry-only changes with PUBLISH_TELEMETRY_CHANGES=false', () => {
    expect(readEventsEnvironment({ STATS_TABLE_NAME: 'stats', PUBLISH_TELEMETRY_CHANGES: 'false' }).publishTelemetryChanges).toBe(false);
  });

  it.each([['no'], ['TRUE'], ['0']])('refuses PUBLISH_TELEMETRY_CHANGES=%s naming the variable', (value) => {
    expect(() => readEventsEnvironment({ STATS_TABLE_NAME: 'stats', PUBLISH_TELEMETRY_CHANGES: value })).toThrow(/^PUBLISH_TELEMETRY_CHANGES: must be true or false/);
  });
});

describe('GraphQL function environment', () => {
  const base = { DEVICES_TABLE_NAME: 'd', STATS_TABLE_NAME: 's', COMMANDS_TABLE_NAME: 'c', TWINS_TABLE_NAME: 'w', ALARMS_TABLE_NAME: 'a', TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 't', PAGE_TOKEN_SECRET_ARN: 'arn:secret' };

  it('reads tables, the telemetry store and the page-token secret ARN', () => {
    expect(readGraphqlEnvironment(base)).toEqual({
      devicesTableName: 'd',
      statsTableName: 's',
      commandsTableName: 'c',
      twinsTableName: 'w',
      alarmsTableName: 'a',
      telemetry: { store: 'dynamodb', tableName: 't' },
      pageTokenSecret: { arn: 'arn:secret' },
    });
  });

  it('reads the Timestream names when telemetry lives there, and a literal secret when one is set', () => {
    // Act
    const config = readGraphqlEnvironment({ ...base, TELEMETRY_STORE: 'timestream', TIMESTREAM_DATABASE_NAME: 'db', TIMESTREAM_TABLE_NAME: 'tt', PAGE_TOKEN_SECRET: 'k' });

    // Assess
    expect(config.telemetry).toEqual({ store: 'timestream', databaseName: 'db', tableName: 'tt' });
    expect(config.pageTokenSecret).toEqual({ value: 'k' });
  });

  it.each([
    ['DEVICES_TABLE_NAME', /^DEVICES_TABLE_NAME: is required/],
    ['STATS_TABLE_NAME', /^STATS_TABLE_NAME: is required/],
    ['COMMANDS_TABLE_NAME', /^COMMANDS_TABLE_NAME: is required/],
    ['TWINS_TABLE_NAME', /^TWINS_TABLE_NAME: is required/],
    ['TELEMETRY_STORE', /^TELEMETRY_STORE: is required/],
    ['PAGE_TOKEN_SECRET_ARN', /^PAGE_TOKEN_SECRET: is required \(or PAGE_TOKEN_SECRET_ARN/],
  ])('fails naming %s when it is missing', (name, message) => {
    // Prepare
    const env: Record<string, string> = { ...base };
    delete env[name];

    // Act / Assess
    expect(() => readGraphqlEnvironment(env)).toThrow(message);
  });

  it('refuses a page-token secret "ARN" that is not one', () => {
    expect(() => readGraphqlEnvironment({ ...base, PAGE_TOKEN_SECRET_ARN: 'my-secret' })).toThrow(/^PAGE_TOKEN_SECRET_ARN: must be a Secrets Manager ARN/);
  });
});

describe('device service environment', () => {
  const valid = {
    DEVICES_TABLE_NAME: 'd',
    STATS_TABLE_NAME: 's',
    ALARMS_TABLE_NAME: 'a',
    PAGE_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
    IOT_ENDPOINT: 'describe',
    AWS_REGION: 'us-east-1',
    USER_POOL_ID: 'us-east-1_AbC123',
    ACCESS_TOKEN_CLIENT_IDS: 'web, internal',
  };

  it('reads a complete environment with defaults for the optional settings', () => {
    expect(readDeviceServiceEnvironment(valid)).toEqual({
      devicesTableName: 'd',
      statsTableName: 's',
      alarmsTableName: 'a',
      pageTokenSecret: { arn: valid.PAGE_TOKEN_SECRET_ARN },
      iotEndpoint: 'describe',
      region: 'us-east-1',
      port: 50051,
      host: '0.0.0.0',
      shutdownGraceMs: 20_000,
      probeIntervalMs: 10_000,
      userPoolId: 'us-east-1_AbC123',
      accessTokenClientIds: ['web', 'internal'],
      reflection: false,
      logLevel: 'info',
    });
  });

  it('turns reflection on only for GRPC_REFLECTION=enabled', () => {
    expect(readDeviceServiceEnvironment({ ...valid, GRPC_REFLECTION: 'enabled' }).reflection).toBe(true);
    expect(readDeviceServiceEnvironment({ ...valid, GRPC_REFLECTION: 'disabled' }).reflection).toBe(false);
    expect(() => readDeviceServiceEnvironment({ ...valid, GRPC_REFLECTION: 'yes' })).toThrow(/^GRPC_REFLECTION: must be one of enabled, disabled/);
  });

  it('fails naming USER_POOL_ID or ACCESS_TOKEN_CLIENT_IDS when malformed', () => {
    expect(() => readDeviceServiceEnvironment({ ...valid, USER_POOL_ID: 'not a pool' })).toThrow(/^USER_POOL_ID: must be a user pool id/);
    expect(() => readDeviceServiceEnvironment({ ...valid, ACCESS_TOKEN_CLIENT_IDS: ' , ' })).toThrow(/^ACCESS_TOKEN_CLIENT_IDS: must name at least one/);
  });

  it('takes AWS_DEFAULT_REGION when AWS_REGION is unset', () => {
    expect(readDeviceServiceEnvironment({ ...valid, AWS_REGION: undefined, AWS_DEFAULT_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
  });

  it.each(['DEVICES_TABLE_NAME', 'STATS_TABLE_NAME', 'IOT_ENDPOINT', 'AWS_REGION', 'USER_POOL_ID', 'ACCESS_TOKEN_CLIENT_IDS'])('fails naming %s when it is missing', (name) => {
    expect(() => readDeviceServiceEnvironment({ ...valid, [name]: '' })).toThrow(new RegExp(`^${name}: is required`));
  });

  it('fails naming PAGE_TOKEN_SECRET when neither the secret nor its ARN is set', () => {
    expect(() => readDeviceServiceEnvironment({ ...valid, PAGE_TOKEN_SECRET_ARN: undefined })).toThrow(/^PAGE_TOKEN_SECRET: is required/);
  });

  it.each([['PORT', '70000'], ['PORT', 'abc'], ['SHUTDOWN_GRACE_MS', '-1']])('fails naming %s for the value %s', (name, value) => {
    expect(() => readDeviceServiceEnvironment({ ...valid, [name]: value })).toThrow(new RegExp(`^${name}: must be an integer`));
  });
});
