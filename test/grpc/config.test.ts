import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/grpc/config.js';

const valid = {
  DEVICES_TABLE_NAME: 'd',
  STATS_TABLE_NAME: 's',
  PAGE_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
  IOT_ENDPOINT: 'describe',
  AWS_REGION: 'us-east-1',
};

describe('readConfig', () => {
  it('reads a complete environment with defaults for the optional settings', () => {
    // Act
    const config = readConfig(valid);

    // Assess
    expect(config).toMatchObject({ devicesTableName: 'd', statsTableName: 's', pageTokenSecretArn: valid.PAGE_TOKEN_SECRET_ARN, iotEndpoint: 'describe', port: 50051, host: '0.0.0.0', shutdownGraceMs: 20_000 });
  });

  it.each(['DEVICES_TABLE_NAME', 'STATS_TABLE_NAME', 'IOT_ENDPOINT', 'AWS_REGION'])('fails naming %s when it is missing', (name) => {
    // Act
    const read = () => readConfig({ ...valid, [name]: '' });

    // Assess
    expect(read).toThrow(new RegExp(`^${name}: is required`));
  });

  it('fails naming PAGE_TOKEN_SECRET when neither the secret nor its ARN is set', () => {
    expect(() => readConfig({ ...valid, PAGE_TOKEN_SECRET_ARN: undefined })).toThrow(/^PAGE_TOKEN_SECRET: is required/);
  });

  it.each([['PORT', '70000'], ['PORT', 'abc'], ['SHUTDOWN_GRACE_MS', '-1']])('fails naming %s for the value %s', (name, value) => {
    expect(() => readConfig({ ...valid, [name]: value })).toThrow(new RegExp(`^${name}: must be an integer`));
  });
});
