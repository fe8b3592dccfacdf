import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/grpc/config.js';

const valid = {
  DEVICES_TABLE_NAME: 'd',
  STATS_TABLE_NAME: 's',
  PAGE_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
  IOT_ENDPOINT: 'describe',
  AWS_REGION: 'us-east-1',
  USER_POOL_ID: 'us-east-1_AbC123',
  ACCESS_TOKEN_CLIENT_IDS: 'web, internal',
};

describe('readConfig', () => {
  it('reads a complete environment with defaults for the optional settings', () => {
    // Act
    const config = readConfig(valid);

    // Assess
    expect(config).toMatchObject({ devicesTableName: 'd', statsTableName: 's', pageTokenSecretArn: valid.PAGE_TOKEN_SECRET_ARN, iotEndpoint: 'describe', port: 50051, host: '0.0.0.0', shutdownGraceMs: 20_000 });
  });

  it('reads the user pool and app clients whose access tokens are accepted, with reflection off by default', () => {
    // Act
    const config = readConfig(valid);

    // Assess
    expect(config).toMatchObject({ userPoolId: 'us-east-1_AbC123', clientIds: ['web', 'internal'], reflection: false });
    expect(readConfig({ ...valid, GRPC_REFLECTION: 'enabled' }).reflection).toBe(true);
  });

  it('fails naming USER_POOL_ID, ACCESS_TOKEN_CLIENT_IDS or GRPC_REFLECTION when malformed', () => {
    expect(() => readConfig({ ...valid, USER_POOL_ID: 'not a pool' })).toThrow(/^USER_POOL_ID: must be a user pool id/);
    expect(() => readConfig({ ...valid, ACCESS_TOKEN_CLIENT_IDS: ' , ' })).toThrow(/^ACCESS_TOKEN_CLIENT_IDS: must name at least one/);
    expect(() => readConfig({ ...valid, GRPC_REFLECTION: 'yes' })).toThrow(/^GRPC_REFLECTION: must be "enabled" or "disabled"/);
  });

  it.each(['DEVICES_TABLE_NAME', 'STATS_TABLE_NAME', 'IOT_ENDPOINT', 'AWS_REGION', 'USER_POOL_ID', 'ACCESS_TOKEN_CLIENT_IDS'])('fails naming %s when it is missing', (name) => {
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
