import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GRAPHQL_RATE_LIMIT } from '../../lib/api-firewall.js';
import { DEFAULT_RESOLVER_MAX_CONCURRENCY } from '../../lib/api.js';
import { DEFAULT_EVENTS_RESERVED_CONCURRENCY } from '../../lib/change-feed.js';
import { GRAPHQL_LIMITS } from '../../src/contracts/graphql-api.js';
import { buildPlatformStack } from './stack-helper.js';

/** The one function whose POWERTOOLS_SERVICE_NAME is `service`. */
function functionOf(template: ReturnType<typeof buildPlatformStack>['template'], service: string) {
  const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
  );
  expect(fns).toHaveLength(1);
  return fns[0]!.Properties;
}

describe('GraphQL API bounds', () => {
  const { template } = buildPlatformStack();

  it('sets the resolver-count and depth limits of the contract on the API, with introspection off by default', () => {
    template.hasResourceProperties('AWS::AppSync::GraphQLApi', {
      QueryDepthLimit: GRAPHQL_LIMITS.queryDepth,
      ResolverCountLimit: GRAPHQL_LIMITS.resolverCount,
      IntrospectionConfig: 'DISABLED',
    });
  });

  it('turns introspection on only with -c graphqlIntrospection=enabled, and refuses other values', () => {
    buildPlatformStack({ context: { graphqlIntrospection: 'enabled' } }).template.hasResourceProperties('AWS::AppSync::GraphQLApi', { IntrospectionConfig: 'ENABLED' });
    expect(() => buildPlatformStack({ context: { graphqlIntrospection: 'yes' } })).toThrow(/Invalid context flag graphqlIntrospection="yes"/);
  });

  it('associates a regional web ACL with a per-IP rate rule and the AWS managed common rule set with the API', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Name: 'RateLimitPerIp',
          Action: { Block: {} },
          Statement: { RateBasedStatement: { Limit: DEFAULT_GRAPHQL_RATE_LIMIT, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
        }),
        Match.objectLike({
          Name: 'AwsManagedCommonRuleSet',
          OverrideAction: { None: {} },
          Statement: {
            ManagedRuleGroupStatement: Match.objectLike({ VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' }),
          },
        }),
      ],
    });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiGraphqlApi'), 'Arn'] },
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiFirewallWebAcl'), 'Arn'] },
    });
  });

  it('takes the rate limit from -c graphqlRateLimit', () => {
    buildPlatformStack({ context: { graphqlRateLimit: '250' } }).template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: 250 }) } })]),
    });
    expect(() => buildPlatformStack({ context: { graphqlRateLimit: '5' } })).toThrow(/Invalid context flag graphqlRateLimit/);
  });

  it('reserves concurrency for ingest (shards x parallelization) and the change feed, and caps the resolver', () => {
    expect(functionOf(template, 'ingest').ReservedConcurrentExecutions).toBe(8);
    expect(functionOf(template, 'change-feed').ReservedConcurrentExecutions).toBe(DEFAULT_EVENTS_RESERVED_CONCURRENCY);
    expect(functionOf(template, 'graphql').ReservedConcurrentExecutions).toBe(DEFAULT_RESOLVER_MAX_CONCURRENCY);
  });

  it('takes the concurrency values from context, and off for none', () => {
    const { template: custom } = buildPlatformStack({ context: { ingestReservedConcurrency: 20, eventsReservedConcurrency: '4', resolverMaxConcurrency: 'off' } });
    expect(functionOf(custom, 'ingest').ReservedConcurrentExecutions).toBe(20);
    expect(functionOf(custom, 'change-feed').ReservedConcurrentExecutions).toBe(4);
    expect(functionOf(custom, 'graphql').ReservedConcurrentExecutions).toBeUndefined();
    expect(() => buildPlatformStack({ context: { resolverMaxConcurrency: '0' } })).toThrow(/Invalid context flag resolverMaxConcurrency/);
  });
});

describe('credentials follow the device (stack)', () => {
  const { template } = buildPlatformStack();

  it('lets the events function revoke and detach certificates, and turns it on', () => {
    expect(functionOf(template, 'change-feed').Environment.Variables.RETIRE_DELETED_CREDENTIALS).toBe('true');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('RetireDeletedCredentials'),
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: ['iot:DescribeCertificate', 'iot:UpdateCertificate', 'iot:ListAttachedPolicies', 'iot:DetachPolicy', 'iot:DetachThingPrincipal'],
            Resource: { 'Fn::Join': ['', Match.arrayWith([':cert/*'])] },
          }),
          Match.objectLike({ Action: 'iot:DetachThingPrincipal', Resource: { 'Fn::Join': ['', Match.arrayWith([':thing/*'])] } }),
        ],
      },
    });
  });
});

describe('least privilege on the tables', () => {
  const { stack, template } = buildPlatformStack();
  const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
  const actions = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  const onTable = (table: 'devicesTable' | 'statsTable') => {
    const arn = JSON.stringify(stack.resolve(stack.storage[table].tableArn));
    return statements.filter((s) => JSON.stringify(s.Resource).includes(arn) && actions(s).some((a) => a.startsWith('dynamodb:') && !a.includes('Stream')));
  };

  it('grants dynamodb:Scan (or a dynamodb:* wildcard) to no role at all', () => {
    const granted = statements.flatMap(actions);
    expect(granted.filter((a) => a === 'dynamodb:Scan' || a === 'dynamodb:*')).toEqual([]);
  });

  it('gives the registry roles (resolver, gRPC task) an explicit action list on Devices, without Scan or BatchWriteItem', () => {
    const lists = onTable('devicesTable').map((s) => [...actions(s)].sort());
    expect(lists).toContainEqual(['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(lists.flat()).not.toContain('dynamodb:BatchWriteItem');
  });

  it('gives the events function only GetItem and UpdateItem on Stats, and readers only reads', () => {
    const lists = onTable('statsTable').map((s) => [...actions(s)].sort());
    expect(lists).toContainEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(lists.flat().filter((a) => ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan'].includes(a))).toEqual([]);
  });
});

describe('Cognito web client', () => {
  it('allows the code flow only (no implicit flow, no example.com), with callbacks and token lifetimes from context', () => {
    // Prepare
    const { template: defaults } = buildPlatformStack();
    const { template: custom } = buildPlatformStack({ context: { authCallbackUrls: 'https://console.example.org/,http://localhost:4000/', accessTokenMinutes: '15' } });

    // Assess
    defaults.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ClientName: Match.absent(),
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: Match.arrayWith(['http://localhost:4000/']),
      AccessTokenValidity: 60,
      IdTokenValidity: 60,
      TokenValidityUnits: Match.objectLike({ AccessToken: 'minutes', IdToken: 'minutes' }),
    });
    custom.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlows: ['code'],
      CallbackURLs: Match.arrayWith(['https://console.example.org/', 'http://localhost:4000/']),
      AccessTokenValidity: 15,
    });
    const clients = Object.values(defaults.findResources('AWS::Cognito::UserPoolClient')).map((c) => c.Properties);
    expect(clients.flatMap((c) => c.AllowedOAuthFlows ?? [])).not.toContain('implicit');
    expect(JSON.stringify(clients)).not.toContain('example.com');
    expect(() => buildPlatformStack({ context: { authCallbackUrls: 'http://evil.example/' } })).toThrow(/Invalid context flag authCallbackUrls/);
  });
});

describe('confused-deputy conditions', () => {
  const { template } = buildPlatformStack();
  const trustOf = (service: string) =>
    Object.values(template.findResources('AWS::IAM::Role'))
      .map((r) => r.Properties.AssumeRolePolicyDocument.Statement[0])
      .filter((s) => s.Principal?.Service === service);

  it('holds every role IoT or AppSync may assume to this account (aws:SourceAccount) and its rules or APIs (aws:SourceArn)', () => {
    const statements = [...trustOf('iot.amazonaws.com'), ...trustOf('appsync.amazonaws.com')];
    expect(statements.length).toBeGreaterThanOrEqual(4);
    for (const statement of statements) {
      expect(statement.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
      expect(statement.Condition?.ArnLike?.['aws:SourceArn'] ?? statement.Condition?.ArnEquals?.['aws:SourceArn']).toBeDefined();
    }
  });
});
