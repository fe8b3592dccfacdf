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
