import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { integerContextFlag } from './context-flags.js';

/** Requests one IP may send in 5 minutes unless `-c graphqlRateLimit=N` says otherwise. */
export const DEFAULT_GRAPHQL_RATE_LIMIT = 1_000;

/** Props of {@link ApiFirewall}. */
export interface ApiFirewallProps {
  /** ARN of the AppSync API to protect. */
  readonly apiArn: string;
  /**
   * Requests per IP per 5 minutes before WAF blocks that IP.
   * @default - the `graphqlRateLimit` context flag, else DEFAULT_GRAPHQL_RATE_LIMIT
   */
  readonly rateLimit?: number;
}

/**
 * A regional WAF web ACL on the GraphQL API: a per-IP rate rule (a person behind the console
 * sends a few requests a minute; 1,000 in 5 minutes is ~3 per second sustained, so only a
 * flood or a script hits it) and the AWS managed common rule set. That set's 8 KB body limit
 * is only counted, not enforced: a createDevice with 50 metadata entries is larger, and AppSync
 * and the resolver bound request size themselves.
 */
export class ApiFirewall extends Construct {
  public readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    const limit = props.rateLimit ?? integerContextFlag(this, 'graphqlRateLimit', DEFAULT_GRAPHQL_RATE_LIMIT, { min: 10, max: 2_000_000_000 });
    const visibility = (metricName: string) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'IoT platform GraphQL API: per-IP rate limit and the AWS managed common rule set',
      visibilityConfig: visibility('IotPlatformGraphqlWebAcl'),
      rules: [
        ...(limit === undefined
          ? []
          : [
              {
                name: 'RateLimitPerIp',
                priority: 0,
                action: { block: {} },
                statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
                visibilityConfig: visibility('GraphqlRateLimitPerIp'),
              },
            ]),
        {
          name: 'AwsManagedCommonRuleSet',
          priority: 1,
          overrideAction: { none: {} },
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name: 'AWSManagedRulesCommonRuleSet',
              ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
            },
          },
          visibilityConfig: visibility('GraphqlCommonRuleSet'),
        },
      ],
    });
    new CfnWebACLAssociation(this, 'Association', { resourceArn: props.apiArn, webAclArn: this.webAcl.attrArn });
  }
}
