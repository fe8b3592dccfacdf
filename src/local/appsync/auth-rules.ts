import { isObjectType, type GraphQLSchema, type ConstDirectiveNode } from 'graphql';

/** Who is calling, after the transport authenticated them. */
export type Caller =
  | { readonly mode: 'cognito'; readonly username: string; readonly sub: string; readonly groups: readonly string[]; readonly claims: Record<string, unknown> }
  | { readonly mode: 'iam'; readonly accessKeyId: string };

/** The auth modes one field admits. */
export interface FieldAuth {
  /** undefined: user pool users refused; empty: every user pool user; else users in one of these groups. */
  readonly cognitoGroups?: readonly string[];
  readonly iam: boolean;
}

const AUTH_DIRECTIVES = new Set(['aws_cognito_user_pools', 'aws_iam', 'aws_api_key', 'aws_oidc', 'aws_lambda', 'aws_auth']);

function authFrom(directives: readonly ConstDirectiveNode[] | undefined): FieldAuth | undefined {
  const relevant = (directives ?? []).filter((d) => AUTH_DIRECTIVES.has(d.name.value));
  if (relevant.length === 0) return undefined;
  let cognitoGroups: string[] | undefined;
  let iam = false;
  for (const directive of relevant) {
    const name = directive.name.value;
    if (name === 'aws_iam') iam = true;
    if (name === 'aws_cognito_user_pools' || name === 'aws_auth') {
      const arg = directive.arguments?.find((a) => a.name.value === 'cognito_groups');
      const groups = arg && arg.value.kind === 'ListValue' ? arg.value.values.flatMap((v) => (v.kind === 'StringValue' ? [v.value] : [])) : [];
      cognitoGroups = [...(cognitoGroups ?? []), ...groups];
    }
  }
  return { ...(cognitoGroups && { cognitoGroups }), iam };
}

/** The default mode: user pools, every user (AppSync's default action ALLOW). */
const DEFAULT_AUTH: FieldAuth = { cognitoGroups: [], iam: false };

/**
 * AppSync's authorization rules read from the schema's directives: a field's own directives
 * replace its type's; a field and type without any get the default mode (user pools) only.
 */
export class AuthRules {
  private readonly rules = new Map<string, FieldAuth>();

  constructor(schema: GraphQLSchema) {
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      const typeAuth = authFrom(type.astNode?.directives);
      for (const field of Object.values(type.getFields())) {
        this.rules.set(`${type.name}.${field.name}`, authFrom(field.astNode?.directives) ?? typeAuth ?? DEFAULT_AUTH);
      }
    }
  }

  /** The rule of `type.field`; the default rule for fields the schema does not list. */
  ruleFor(typeName: string, fieldName: string): FieldAuth {
    return this.rules.get(`${typeName}.${fieldName}`) ?? DEFAULT_AUTH;
  }

  /** Whether `caller` may read `type.field`. */
  allows(caller: Caller, typeName: string, fieldName: string): boolean {
    const rule = this.ruleFor(typeName, fieldName);
    if (caller.mode === 'iam') return rule.iam;
    if (!rule.cognitoGroups) return false;
    return rule.cognitoGroups.length === 0 || caller.groups.some((g) => rule.cognitoGroups!.includes(g));
  }
}
