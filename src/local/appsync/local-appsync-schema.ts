import type { AppSyncIdentity } from 'aws-lambda';
import {
  isObjectType,
  print,
  type FieldNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { APPSYNC_SCALARS } from './appsync-scalars.js';
import { AppSyncResolverError } from '../../graphql/appsync-error.js';
import { AuthRules, type Caller } from './auth-rules.js';
import { NONE_DATA_SOURCE_FIELDS } from '../../contracts/graphql-api.js';
import type { DirectLambdaEvent } from '../../graphql/appsync-router.js';
import { buildSchemaFromSdl, readSchemaSdl } from '../../graphql/schema-source.js';
import type { SubscriptionHub } from './subscription-hub.js';

/** What every field resolver of the local server sees as its context. */
export interface LocalRequestContext {
  readonly caller: Caller;
  readonly sourceIp: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Results of the mutation fields resolved so far; published to subscribers once the operation completes. */
  readonly mutationResults: Map<string, unknown>;
}

/** What a direct Lambda data source is, as far as the local server is concerned. */
export type LambdaDataSource = (event: DirectLambdaEvent) => Promise<unknown>;

/** Options for {@link buildLocalAppSyncSchema}. */
export interface LocalAppSyncSchemaOptions {
  /** The Lambda data source (lambdas/graphql's handler, built by createResolverHandler). */
  readonly lambda: LambdaDataSource;
  readonly hub: SubscriptionHub;
  /**
   * Subscription resolvers with a data source, by field name: run once when a subscription
   * starts (after it listens), as AppSync runs a subscription field's resolver; a throw refuses it.
   */
  readonly subscriptionResolvers?: Readonly<Record<string, (args: Record<string, unknown>) => Promise<void>>>;
  /** @default the schema file */
  readonly sdl?: string;
}

/** The schema the local server executes, plus the rules it enforces. */
export interface LocalAppSyncSchema {
  readonly schema: GraphQLSchema;
  readonly authRules: AuthRules;
}

/** AppSync's `identity` for a caller, as a direct Lambda resolver receives it. */
export function identityOf(caller: Caller, sourceIp: string): AppSyncIdentity {
  if (caller.mode === 'iam') {
    return {
      accountId: '000000000000',
      cognitoIdentityPoolId: '',
      cognitoIdentityId: '',
      sourceIp: [sourceIp],
      username: caller.accessKeyId,
      userArn: `arn:aws:iam::000000000000:user/${caller.accessKeyId}`,
      cognitoIdentityAuthType: '',
      cognitoIdentityAuthProvider: '',
    };
  }
  return {
    sub: caller.sub,
    issuer: String(caller.claims.iss ?? ''),
    username: caller.username,
    claims: caller.claims,
    sourceIp: [sourceIp],
    defaultAuthStrategy: 'ALLOW',
    groups: [...caller.groups],
  };
}

function selectionSetList(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, prefix = '', out: string[] = []): string[] {
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === 'Field') {
      if (selection.name.value.startsWith('__')) continue;
      const path = `${prefix}${selection.name.value}`;
      out.push(path);
      if (selection.selectionSet) selectionSetList(selection.selectionSet, info, `${path}/`, out);
    } else if (selection.kind === 'InlineFragment') {
      selectionSetList(selection.selectionSet, info, prefix, out);
    } else {
      selectionSetList(info.fragments[selection.name.value]?.selectionSet, info, prefix, out);
    }
  }
  return out;
}

function directLambdaEvent(args: Record<string, unknown>, context: LocalRequestContext, info: GraphQLResolveInfo): DirectLambdaEvent {
  const field: FieldNode = info.fieldNodes[0]!;
  return {
    // Serialized as AppSync serializes it to Lambda: the handler never sees in-process objects.
    arguments: JSON.parse(JSON.stringify(args)) as Record<string, unknown>,
    identity: identityOf(context.caller, context.sourceIp),
    source: null,
    request: { headers: { ...context.headers }, domainName: null },
    prev: null,
    stash: {},
    info: {
      fieldName: info.fieldName,
      parentTypeName: info.parentType.name,
      variables: { ...info.variableValues },
      selectionSetList: selectionSetList(field.selectionSet, info),
      selectionSetGraphQL: field.selectionSet ? print(field.selectionSet) : '',
    },
  };
}

function unauthorized(typeName: string, fieldName: string): AppSyncResolverError {
  return new AppSyncResolverError('Unauthorized', `Not Authorized to access ${fieldName} on type ${typeName}`);
}

function subscribedMutations(schema: GraphQLSchema, fieldName: string): string[] {
  const field = schema.getSubscriptionType()?.getFields()[fieldName];
  const directive = field?.astNode?.directives?.find((d) => d.name.value === 'aws_subscribe');
  const arg = directive?.arguments?.find((a) => a.name.value === 'mutations');
  return arg && arg.value.kind === 'ListValue' ? arg.value.values.flatMap((v) => (v.kind === 'StringValue' ? [v.value] : [])) : [];
}

/**
 * Builds the executable schema of the local AppSync stand-in from the schema file: AppSync's
 * scalars, per-field auth from the @aws_* directives, Query/Mutation fields resolved by the
 * Lambda data source with the direct Lambda event, NONE fields passing their input through,
 * and @aws_subscribe subscriptions fed by the hub.
 */
export function buildLocalAppSyncSchema(options: LocalAppSyncSchemaOptions): LocalAppSyncSchema {
  const schema = buildSchemaFromSdl(options.sdl ?? readSchemaSdl());
  for (const [name, implementation] of Object.entries(APPSYNC_SCALARS)) {
    const type = schema.getType(name);
    // buildASTSchema gives declared scalars pass-through behaviour; give them AppSync's rules.
    if (type) Object.assign(type, { serialize: implementation.serialize, parseValue: implementation.parseValue, parseLiteral: implementation.parseLiteral });
  }
  const authRules = new AuthRules(schema);
  const noneFields = new Set<string>(NONE_DATA_SOURCE_FIELDS);
  const queryName = schema.getQueryType()?.name;
  const mutationName = schema.getMutationType()?.name;
  const subscriptionName = schema.getSubscriptionType()?.name;

  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const key = `${type.name}.${field.name}`;
      const typeName = type.name;
      const fieldName = field.name;
      if (typeName === subscriptionName) {
        const mutations = subscribedMutations(schema, fieldName);
        const resolver = options.subscriptionResolvers?.[fieldName];
        field.subscribe = async (_source, args: Record<string, unknown>, context: LocalRequestContext) => {
          if (!authRules.allows(context.caller, typeName, fieldName)) throw unauthorized(typeName, fieldName);
          const events = options.hub.subscribe(mutations, args);
          try {
            await resolver?.(args);
          } catch (error) {
            await events.return?.();
            throw error;
          }
          return events;
        };
        field.resolve = (payload) => payload;
        continue;
      }
      const isRoot = typeName === queryName || typeName === mutationName;
      if (!isRoot) {
        // Synchronous on purpose: nested fields are read from the parent value, as AppSync does
        // for fields without a resolver, and a promise per field would only add latency.
        field.resolve = (source, _args, context: LocalRequestContext) => {
          if (!authRules.allows(context.caller, typeName, fieldName)) throw unauthorized(typeName, fieldName);
          return (source as Record<string, unknown> | null)?.[fieldName];
        };
        continue;
      }
      const resolve: GraphQLFieldResolver<unknown, LocalRequestContext> = noneFields.has(key)
        ? (_source, args) => (args as { input?: unknown }).input ?? null
        : (_source, args, context, info) => options.lambda(directLambdaEvent(args as Record<string, unknown>, context, info));
      const isMutation = typeName === mutationName;
      field.resolve = async (source, args, context: LocalRequestContext, info) => {
        if (!authRules.allows(context.caller, typeName, fieldName)) throw unauthorized(typeName, fieldName);
        const value = await resolve(source, args, context, info);
        if (isMutation) context.mutationResults.set(fieldName, value);
        return value;
      };
    }
  }
  return { schema, authRules };
}
