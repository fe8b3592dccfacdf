import type { GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchemaFromSdl, readSchemaSdl } from '../../src/graphql/schema-source.js';
import { AuthRules } from '../../src/local/appsync/auth-rules.js';

const AUTH_DIRECTIVES = new Set(['aws_cognito_user_pools', 'aws_iam', 'aws_api_key', 'aws_oidc', 'aws_lambda', 'aws_auth']);
const READERS = ['admin', 'viewer'];
const WRITERS = ['admin'];

/**
 * Root fields whose access differs from their siblings'. A root field without an auth directive
 * falls back to AppSync's default mode (every user pool user, in no group or any other group),
 * so each must name its groups: reads and subscriptions admin and viewer, writes admin, and the
 * change feed's internal publish mutations IAM alone.
 */
function rootFieldAuthProblems(schema: GraphQLSchema): string[] {
  const rules = new AuthRules(schema);
  const problems: string[] = [];
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const where = `${type!.name}.${field.name}`;
      if (!(field.astNode?.directives ?? []).some((d) => AUTH_DIRECTIVES.has(d.name.value))) {
        problems.push(`${where} has no auth directive`);
        continue;
      }
      const rule = rules.ruleFor(type!.name, field.name);
      const internal = type!.name === 'Mutation' && rule.iam && rule.cognitoGroups === undefined && field.name.startsWith('publish');
      const groups = type!.name === 'Mutation' ? WRITERS : READERS;
      const expected = internal || (!rule.iam && [...(rule.cognitoGroups ?? [])].sort().join() === [...groups].sort().join());
      if (!expected) problems.push(`${where} admits ${JSON.stringify(rule)}, its siblings ${JSON.stringify({ cognitoGroups: groups, iam: false })}`);
    }
  }
  return problems;
}

describe('schema auth directives', () => {
  it('gives every Query, Mutation and Subscription field the auth directives its siblings carry', () => {
    // Act
    const problems = rootFieldAuthProblems(buildSchemaFromSdl());

    // Assess
    expect(problems).toEqual([]);
  });

  it('catches a root field without a directive, one open to every user, and an IAM door on a user field', () => {
    // Prepare
    const sdl = readSchemaSdl()
      .replace(/(commands\(deviceId: ID!.*?CommandConnection!)\s*@aws_cognito_user_pools\(cognito_groups: \["admin", "viewer"\]\)/s, '$1')
      .replace(/(stats: DeviceStats!) @aws_cognito_user_pools\(cognito_groups: \["admin", "viewer"\]\)/, '$1 @aws_cognito_user_pools')
      .replace(/(cancelCommand\(id: ID!\): Command!) @aws_cognito_user_pools\(cognito_groups: \["admin"\]\)/, '$1 @aws_iam');

    // Act
    const problems = rootFieldAuthProblems(buildSchemaFromSdl(sdl));

    // Assess
    expect(problems).toEqual([
      'Query.stats admits {"cognitoGroups":[],"iam":false}, its siblings {"cognitoGroups":["admin","viewer"],"iam":false}',
      'Query.commands has no auth directive',
      'Mutation.cancelCommand admits {"iam":true}, its siblings {"cognitoGroups":["admin"],"iam":false}',
    ]);
  });
});
