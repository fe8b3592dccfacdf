import { readFileSync } from 'node:fs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { Api } from '../../lib/api.js';
import { ChangeFeed } from '../../lib/change-feed.js';
import { IngestPipeline } from '../../lib/ingest-pipeline.js';
import { Storage } from '../../lib/storage.js';
import { SCHEMA_PATH } from '../../src/contracts/graphql-api.js';
import { FIXTURE_HANDLER, testStack } from './stack-helper.js';

function build(telemetryStore: 'dynamodb' | 'timestream' = 'dynamodb') {
  const stack = testStack();
  const storage = new Storage(stack, 'Storage', { telemetryTable: telemetryStore === 'dynamodb' });
  const feed = new ChangeFeed(stack, 'ChangeFeed', { storage, entry: FIXTURE_HANDLER });
  const ingest = new IngestPipeline(stack, 'IngestPipeline', { storage, telemetryStore, ingestEntry: FIXTURE_HANDLER, presenceEntry: FIXTURE_HANDLER });
  const api = new Api(stack, 'Api', { storage, telemetry: ingest, changePublisher: feed.fn, entry: FIXTURE_HANDLER });
  return { stack, storage, feed, api, template: Template.fromStack(stack) };
}

describe('Api', () => {
  it('serves the schema file with user pools as the default mode, IAM as the only other mode and no API key', () => {
    // Prepare / Act
    const { stack, api, template } = build();

    // Assess
    template.hasResourceProperties('AWS::AppSync::GraphQLApi', {
      AuthenticationType: 'AMAZON_COGNITO_USER_POOLS',
      UserPoolConfig: { UserPoolId: stack.resolve(api.userPool.userPoolId), DefaultAction: 'ALLOW' },
      AdditionalAuthenticationProviders: [{ AuthenticationType: 'AWS_IAM' }],
      XrayEnabled: true,
    });
    template.resourceCountIs('AWS::AppSync::ApiKey', 0);
    template.hasResourceProperties('AWS::AppSync::GraphQLSchema', { Definition: readFileSync(SCHEMA_PATH, 'utf8') });
  });

  it('logs requests at field level ERROR through its own role into an explicit, retained log group', () => {
    // Prepare / Act
    const { stack, api, template } = build();

    // Assess
    template.hasResourceProperties('AWS::AppSync::GraphQLApi', {
      LogConfig: { FieldLogLevel: 'ERROR', ExcludeVerboseContent: true, CloudWatchLogsRoleArn: Match.anyValue() },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: { 'Fn::Join': ['', ['/aws/appsync/apis/', stack.resolve(api.api.apiId)]] }, RetentionInDays: 30 },
      DeletionPolicy: 'Retain',
    });
    template.resourceCountIs('Custom::LogRetention', 0);
  });

  it('has a user pool with a strong password policy, required TOTP MFA, threat protection and the admin and viewer groups', () => {
    // Prepare / Act
    const { template } = build();

    // Assess
    template.hasResource('AWS::Cognito::UserPool', {
      Properties: Match.objectLike({
        MfaConfiguration: 'ON',
        EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
        Policies: {
          PasswordPolicy: Match.objectLike({ MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true }),
        },
        UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        DeletionProtection: 'ACTIVE',
      }),
      DeletionPolicy: 'Retain',
    });
    for (const group of ['admin', 'viewer']) template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: group });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      PreventUserExistenceErrors: 'ENABLED',
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_SRP_AUTH']),
    });
  });

  it('resolves every Query and Mutation field with the Lambda directly, except the two publish mutations on a NONE data source', () => {
    // Prepare / Act
    const { template } = build();
    const resolvers = Object.values(template.findResources('AWS::AppSync::Resolver')).map((r) => r.Properties);
    const sources = template.findResources('AWS::AppSync::DataSource');
    const typeOf = (name: string) => Object.values(sources).find((d) => d.Properties.Name === name)!.Properties.Type;

    // Assess
    const byField = Object.fromEntries(resolvers.map((r) => [`${r.TypeName}.${r.FieldName}`, { type: typeOf(r.DataSourceName), code: r.Code, runtime: r.Runtime }]));
    const alarmFields = ['Query.alarm', 'Query.alarmRule', 'Query.alarmRules', 'Query.alarms', 'Mutation.acknowledgeAlarm', 'Mutation.createAlarmRule', 'Mutation.deleteAlarmRule', 'Mutation.disableAlarm', 'Mutation.enableAlarm', 'Mutation.snoozeAlarm', 'Mutation.updateAlarmRule'];
    expect(Object.keys(byField).sort()).toEqual(
      [
        'Mutation.createDevice', 'Mutation.deleteDevice', 'Mutation.publishDeviceUpdate', 'Mutation.publishTelemetryBatch', 'Mutation.updateDevice', 'Query.device', 'Query.devices', 'Query.stats', 'Query.telemetry', 'Subscription.deviceUpdated', ...alarmFields, 'Mutation.publishAlarmUpdate', 'Subscription.alarmUpdated',
        'Mutation.sendCommand', 'Mutation.cancelCommand', 'Mutation.updateDesiredState', 'Mutation.publishCommandUpdate', 'Query.command', 'Query.commands', 'Subscription.commandUpdated',
      ].sort(),
    );
    expect(byField['Mutation.publishAlarmUpdate']).toMatchObject({ type: 'NONE', runtime: { Name: 'APPSYNC_JS', RuntimeVersion: '1.0.0' } });
    expect(byField['Subscription.alarmUpdated']!.code).toContain('deviceId: { eq: ctx.args.deviceId }');
    for (const field of ['Query.device', 'Query.devices', 'Query.stats', 'Query.telemetry', 'Mutation.createDevice', 'Mutation.updateDevice', 'Mutation.deleteDevice', ...alarmFields, 'Query.command', 'Query.commands', 'Mutation.sendCommand', 'Mutation.cancelCommand', 'Mutation.updateDesiredState']) {
      expect(byField[field]).toEqual({ type: 'AWS_LAMBDA', code: undefined, runtime: undefined });
    }
    expect(byField['Mutation.publishDeviceUpdate']).toMatchObject({ type: 'NONE', runtime: { Name: 'APPSYNC_JS', RuntimeVersion: '1.0.0' } });
    expect(byField['Mutation.publishDeviceUpdate']!.code).toContain('payload: ctx.args.input');
    expect(byField['Mutation.publishTelemetryBatch']).toMatchObject({ type: 'NONE', runtime: { Name: 'APPSYNC_JS', RuntimeVersion: '1.0.0' } });
    expect(byField['Subscription.deviceUpdated']).toMatchObject({ type: 'AMAZON_DYNAMODB', runtime: { Name: 'APPSYNC_JS', RuntimeVersion: '1.0.0' } });
    expect(byField['Subscription.deviceUpdated']!.code).toContain('setSubscriptionFilter');
    expect(byField['Subscription.deviceUpdated']!.code).toContain("'#watched': 'watchedUntil'");
    expect(byField['Mutation.publishCommandUpdate']).toMatchObject({ type: 'NONE', runtime: { Name: 'APPSYNC_JS', RuntimeVersion: '1.0.0' } });
    expect(byField['Subscription.commandUpdated']!.code).toContain('deviceId: { eq: ctx.args.deviceId }');
  });

  it('lets the resolver read and write commands and twins, naming both tables, and publish only to device command and delta topics', () => {
    // Prepare / Act
    const { stack, api, template } = build();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(stack.getLogicalId(api.resolverFunction.executionRole.node.defaultChild as never)),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]);

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ COMMANDS_TABLE_NAME: Match.anyValue(), TWINS_TABLE_NAME: Match.anyValue() }) },
    });
    const publish = statements.filter((s) => s.Action === 'iot:Publish');
    expect(publish).toHaveLength(1);
    expect(JSON.stringify(publish[0]!.Resource)).toContain(':topic/cmd/iot/*/commands');
    expect(JSON.stringify(publish[0]!.Resource)).toContain(':topic/cmd/iot/*/delta');
    expect(JSON.stringify(publish[0]!.Resource)).not.toContain('topic/*"');
  });

  it('lets deviceUpdated(id) mark its device watched with UpdateItem on the Devices table and nothing else', () => {
    // Prepare / Act
    const { stack, storage, template } = build();

    // Assess
    const source = Object.values(template.findResources('AWS::AppSync::DataSource')).find((d) => d.Properties.Type === 'AMAZON_DYNAMODB')!;
    const roleArn = source.Properties.ServiceRoleArn as { 'Fn::GetAtt': [string, string] };
    const roleId = roleArn['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.PolicyDocument.Statement).toEqual([
      { Action: 'dynamodb:UpdateItem', Effect: 'Allow', Resource: stack.resolve(storage.devicesTable.tableArn) },
    ]);
  });

  it('lets the events function call the three publish mutations and nothing else, and tells it the GraphQL URL', () => {
    // Prepare / Act
    const { stack, feed, api, template } = build();

    // Assess
    const apiId = { 'Fn::GetAtt': [stack.getLogicalId(api.api.node.defaultChild as never), 'ApiId'] };
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [stack.resolve(feed.fn.executionRole.roleName)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'appsync:GraphQL',
            Effect: 'Allow',
            Resource: [
              { 'Fn::Join': ['', Match.arrayWith([':apis/', apiId, '/types/Mutation/fields/publishDeviceUpdate'])] },
              { 'Fn::Join': ['', Match.arrayWith([':apis/', apiId, '/types/Mutation/fields/publishTelemetryBatch'])] },
              { 'Fn::Join': ['', Match.arrayWith([':apis/', apiId, '/types/Mutation/fields/publishCommandUpdate'])] },
            ],
          },
        ]),
      },
    });
    const graphqlGrants = JSON.stringify(template.findResources('AWS::IAM::Policy')).match(/appsync:GraphQL/g);
    expect(graphqlGrants).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Environment: { Variables: Match.objectLike({ APPSYNC_GRAPHQL_URL: stack.resolve(api.api.graphqlUrl) }) },
    });
  });

  it('gives the resolver function the tables and the page-token secret it needs, by environment variable', () => {
    // Prepare / Act
    const { stack, storage, api, template } = build();

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          DEVICES_TABLE_NAME: stack.resolve(storage.devicesTable.tableName),
          STATS_TABLE_NAME: stack.resolve(storage.statsTable.tableName),
          TELEMETRY_STORE: 'dynamodb',
          TELEMETRY_TABLE_NAME: stack.resolve(storage.telemetryTable!.tableName),
          PAGE_TOKEN_SECRET_ARN: Match.anyValue(),
          POWERTOOLS_SERVICE_NAME: 'graphql',
        }),
      },
    });
    expect(api.resolverFunction.runtime.name).toBe('nodejs24.x');
  });

  it('outputs the GraphQL and real-time URLs and the user pool and client ids', () => {
    // Prepare / Act
    const { stack, api, template } = build();

    // Assess
    template.hasOutput('GraphqlUrl', { Value: stack.resolve(api.api.graphqlUrl) });
    template.hasOutput('RealtimeUrl', { Value: { 'Fn::GetAtt': [stack.getLogicalId(api.api.node.defaultChild as never), 'RealtimeUrl'] } });
    template.hasOutput('UserPoolId', { Value: stack.resolve(api.userPool.userPoolId) });
    template.hasOutput('UserPoolClientId', { Value: stack.resolve(api.userPoolClient.userPoolClientId) });
  });

  it('reads telemetry from Timestream when the pipeline writes there', () => {
    // Prepare / Act
    const { template } = build('timestream');

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'graphql', TELEMETRY_STORE: 'timestream', TIMESTREAM_DATABASE_NAME: Match.anyValue() }) },
    });
  });

  it.each([['dynamodb'], ['timestream']] as const)('leaves no cdk-nag AwsSolutions finding of its own unacknowledged (%s telemetry)', (store) => {
    // Prepare
    const { stack } = build(store);

    // Act
    const findings = new AwsSolutionsChecks(stack).validateScope(stack);

    // Assess
    const ours = findings.violations.filter((f) => f.violatingResources.some((r) => r.constructPath?.startsWith('TestStack/Api/')));
    expect(ours.map((f) => `${f.ruleName} ${f.violatingResources.map((r) => r.constructPath).join(',')}`)).toEqual([]);
  });
});
