import { describe, expect, it } from 'vitest';
import { readIngestConfig } from '../../lambdas/ingest/config.js';
import { readPresenceConfig } from '../../lambdas/presence/config.js';

const base = { DEVICES_TABLE_NAME: 'Devices', DEAD_LETTER_QUEUE_URL: 'https://sqs/q' };

describe('readIngestConfig', () => {
  it('reads the DynamoDB telemetry store settings', () => {
    expect(readIngestConfig({ ...base, TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T', TELEMETRY_RETENTION_DAYS: '7' })).toEqual({
      devicesTableName: 'Devices',
      deadLetterQueueUrl: 'https://sqs/q',
      retentionDays: 7,
      telemetryStore: 'dynamodb',
      telemetryTableName: 'T',
    });
  });

  it('reads the Timestream settings', () => {
    expect(readIngestConfig({ ...base, TELEMETRY_STORE: 'timestream', TIMESTREAM_DATABASE_NAME: 'db', TIMESTREAM_TABLE_NAME: 't' })).toMatchObject({
      telemetryStore: 'timestream',
      timestreamDatabaseName: 'db',
      timestreamTableName: 't',
    });
  });

  it.each([
    [{ ...base }, 'TELEMETRY_STORE'],
    [{ ...base, TELEMETRY_STORE: 'dynamodb' }, 'TELEMETRY_TABLE_NAME'],
    [{ ...base, TELEMETRY_STORE: 'timestream', TIMESTREAM_DATABASE_NAME: 'db' }, 'TIMESTREAM_TABLE_NAME'],
    [{ ...base, TELEMETRY_STORE: 'influx' }, 'TELEMETRY_STORE=influx'],
    [{ DEAD_LETTER_QUEUE_URL: 'q', TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T' }, 'DEVICES_TABLE_NAME'],
    [{ ...base, TELEMETRY_STORE: 'dynamodb', TELEMETRY_TABLE_NAME: 'T', TELEMETRY_RETENTION_DAYS: '0' }, 'TELEMETRY_RETENTION_DAYS'],
  ])('fails fast naming the variable (%#)', (env, name) => {
    expect(() => readIngestConfig(env)).toThrow(name);
  });
});

describe('readPresenceConfig', () => {
  it('fails fast naming the missing variable', () => {
    expect(readPresenceConfig(base)).toEqual({ devicesTableName: 'Devices', deadLetterQueueUrl: 'https://sqs/q' });
    expect(() => readPresenceConfig({ DEVICES_TABLE_NAME: 'D' })).toThrow('DEAD_LETTER_QUEUE_URL');
  });
});
