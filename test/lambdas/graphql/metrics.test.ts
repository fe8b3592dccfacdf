/**
 * The GraphQL resolver Lambda's own module, composed at import as at a cold start, on real
 * dynalite: every invocation flushes Powertools metrics (CloudWatch EMF on stdout) counting
 * resolutions, refused or failed fields, and unexpected failures.
 */
import type { Context, AppSyncIdentity } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectLambdaEvent } from '../../../src/graphql/appsync-router.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../src/local/dynamodb/dynalite.js';
import { startDynamoFixture, type DynamoFixture } from '../../adapters/dynamodb/dynamo-fixture.js';
import { emittedMetrics } from '../emitted-metrics.js';
import { lambdaContext } from '../lambda-context.js';

const admin: AppSyncIdentity = {
  sub: 's', issuer: 'i', username: 'u', claims: { 'cognito:groups': ['admin'] }, sourceIp: ['127.0.0.1'], defaultAuthStrategy: 'ALLOW', groups: ['admin'],
};

function event(parentTypeName: string, fieldName: string, args: Record<string, unknown>): DirectLambdaEvent {
  return {
    arguments: args, identity: admin, source: null, prev: null, stash: {},
    request: { headers: {}, domainName: null },
    info: { parentTypeName, fieldName, variables: {}, selectionSetList: ['id'], selectionSetGraphQL: '{ id }' },
  };
}

describe('GraphQL resolver Lambda metrics', () => {
  let fixture: DynamoFixture;
  let handler: (event: DirectLambdaEvent, context: Context) => Promise<unknown>;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    Object.assign(process.env, {
      DEVICES_TABLE_NAME: fixture.devicesTable,
      // A table that does not exist: reading stats is an unexpected (infrastructure) failure.
      STATS_TABLE_NAME: 'missing-stats-table',
      COMMANDS_TABLE_NAME: 'missing-commands-table',
      TWINS_TABLE_NAME: 'missing-twins-table',
      ALARMS_TABLE_NAME: 'test-Alarms',
      TELEMETRY_STORE: 'dynamodb',
      TELEMETRY_TABLE_NAME: 'test-Telemetry',
      PAGE_TOKEN_SECRET: 'graphql-metrics-test-secret-0123456789',
      AWS_ENDPOINT_URL: fixture.endpoint,
      AWS_REGION: LOCAL_REGION,
      // As the Lambda runtime sets it for an on-demand function (Powertools tells cold starts by it).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      POWERTOOLS_METRICS_NAMESPACE: 'IotPlatformTest',
      POWERTOOLS_SERVICE_NAME: 'graphql',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    ({ handler } = await import('../../../lambdas/graphql/index.js'));
  });
  afterAll(async () => {
    process.env = savedEnv;
    await fixture?.stop();
  });

  it('counts a cold start once, a resolution per invocation, a refused field as an error, and an infrastructure failure as unexpected', async () => {
    // Act
    const created = await emittedMetrics(() => handler(event('Mutation', 'createDevice', { input: { name: 'Boiler', type: 'sensor' } }), lambdaContext('graphql')));
    const refused = await emittedMetrics(() => handler(event('Query', 'device', { id: 'not-a-uuid' }), lambdaContext('graphql')));
    const failed = await emittedMetrics(() => handler(event('Query', 'stats', {}), lambdaContext('graphql')));

    // Assess
    // The first invocation of an execution environment also records the cold start.
    expect(created).toEqual([{ ColdStart: 1 }, { Resolutions: 1 }]);
    expect(refused).toEqual([{ Resolutions: 1, ResolverErrors: 1 }]);
    expect(failed).toEqual([{ Resolutions: 1, ResolverUnexpectedErrors: 1, ResolverErrors: 1 }]);
  });
});
