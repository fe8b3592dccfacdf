import { AlarmService } from '../../src/alarms/alarm-service.js';
import { InMemoryAlarmStore } from '../../src/adapters/memory/in-memory-alarm-store.js';
import type { AppSyncIdentity } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { InMemoryDeviceRepository } from '../../src/adapters/memory/in-memory-device-repository.js';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import { AppSyncResolverError } from '../../src/graphql/appsync-error.js';
import type { DirectLambdaEvent } from '../../src/graphql/appsync-router.js';
import { createResolverHandler } from '../../src/graphql/resolver-handler.js';
import { UNUSED_COMMANDS, UNUSED_TWINS } from './unused-control.js';
import { TelemetryHistory } from '../../src/domain/telemetry-history.js';

const pageTokens = createPageTokenCodec('resolver-test-secret-0123456789');

function cognito(groups: string[]): AppSyncIdentity {
  return { sub: 's', issuer: 'i', username: 'u', claims: { 'cognito:groups': groups }, sourceIp: ['127.0.0.1'], defaultAuthStrategy: 'ALLOW', groups };
}
const iam: AppSyncIdentity = {
  accountId: '1', cognitoIdentityPoolId: '', cognitoIdentityId: '', sourceIp: [], username: 'AKIA', userArn: 'arn:aws:iam::1:user/x', cognitoIdentityAuthType: '', cognitoIdentityAuthProvider: '',
};

/** A direct Lambda event as AppSync sends it. */
function event(parentTypeName: string, fieldName: string, args: Record<string, unknown>, identity: AppSyncIdentity): DirectLambdaEvent {
  return {
    arguments: args, identity, source: null, prev: null, stash: {},
    request: { headers: {}, domainName: null },
    info: { parentTypeName, fieldName, variables: {}, selectionSetList: ['id'], selectionSetGraphQL: '{ id }' },
  };
}

function build(telemetryFails = false) {
  const repository = new InMemoryDeviceRepository();
  const registry = new DeviceRegistry({ repository, stats: new InMemoryStats(), pageTokens });
  const unexpected: unknown[] = [];
  const handler = createResolverHandler({
    commands: UNUSED_COMMANDS,
    twins: UNUSED_TWINS,
    registry,
    telemetry: new TelemetryHistory({
      reader: { query: async () => { if (telemetryFails) throw new Error('connect ECONNREFUSED 10.0.0.7:443 secret-host'); return { items: [{ ts: 0, seq: 1, value: 21.5 }], nextCursor: 'c1' }; },
        rollups: async () => ({ items: [{ start: 0, count: 2, min: 1, max: 3, avg: 2, last: 3 }] }) },
      pageTokens,
    }),
    alarms: new AlarmService({ store: new InMemoryAlarmStore(), pageTokens, devices: repository }),
    onUnexpectedError: (error) => unexpected.push(error),
  });
  return { registry, handler, unexpected };
}

describe('resolver handler (direct Lambda events)', () => {
  it('refuses a viewer or an IAM caller on a mutation even when AppSync let the call through', async () => {
    // Prepare
    const { handler, registry } = build();
    const input = { input: { name: 'x', type: 'x' } };

    // Act
    const results = await Promise.allSettled([
      handler(event('Mutation', 'createDevice', input, cognito(['viewer']))),
      handler(event('Mutation', 'createDevice', input, iam)),
      handler(event('Query', 'stats', {}, cognito([]))),
    ]);

    // Assess
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as AppSyncResolverError;
      expect(error).toBeInstanceOf(AppSyncResolverError);
      expect(error.name).toBe('Unauthorized');
    }
    expect((await registry.list({})).items).toEqual([]);
  });

  it('names the AppSync error type in the error name, which the Lambda runtime reports as errorType', async () => {
    // Prepare
    const { handler } = build();

    // Act
    const error = await handler(event('Query', 'device', { id: 'nope' }, cognito(['viewer']))).catch((e: Error) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ValidationError', errorType: 'ValidationError' });
    expect((error as Error).message).toMatch(/id must be a UUID/);
  });

  it('turns an unexpected failure into InternalFailure without its internals, and reports it', async () => {
    // Prepare
    const { handler, unexpected } = build(true);
    const args = { deviceId: '123e4567-e89b-12d3-a456-426614174000', metric: 'temp', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' };

    // Act
    const error = (await handler(event('Query', 'telemetry', args, cognito(['admin']))).catch((e: Error) => e)) as Error;

    // Assess
    expect(error.name).toBe('InternalFailure');
    expect(error.message).not.toMatch(/ECONNREFUSED|secret-host/);
    expect(unexpected).toHaveLength(1);
  });

  it('returns telemetry points as the schema shapes them, with a signed token that only works for the same query', async () => {
    // Prepare
    const { handler } = build();
    const args = { deviceId: '123e4567-e89b-12d3-a456-426614174000', metric: 'temp', from: '1970-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' };

    // Act
    const page = (await handler(event('Query', 'telemetry', args, cognito(['viewer'])))) as { items: unknown[]; nextToken: string };
    const reused = await handler(event('Query', 'telemetry', { ...args, metric: 'humidity', nextToken: page.nextToken }, cognito(['viewer']))).catch((e: Error) => e);

    // Assess
    expect(page.items).toEqual([{ timestamp: '1970-01-01T00:00:00.000Z', numberValue: 21.5, booleanValue: null, stringValue: null }]);
    expect(page.nextToken).not.toBe('c1');
    expect(reused).toMatchObject({ name: 'ValidationError' });
  });

  it('refuses an unknown field instead of guessing', async () => {
    // Prepare
    const { handler } = build();

    // Act
    const error = await handler(event('Query', 'nothing', {}, cognito(['admin']))).catch((e: Error) => e);

    // Assess
    expect(error).toMatchObject({ name: 'InternalFailure' });
  });
});
