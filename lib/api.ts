import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import {
  AuthorizationType,
  CfnGraphQLApi,
  Code,
  Definition,
  DynamoDbDataSource,
  FieldLogLevel,
  FunctionRuntime,
  GraphqlApi,
  IntrospectionConfig,
  UserPoolDefaultAction,
  type LambdaDataSource,
} from 'aws-cdk-lib/aws-appsync';
import {
  AccountRecovery,
  CfnUserPoolGroup,
  FeaturePlan,
  OAuthScope,
  Mfa,
  StandardThreatProtectionMode,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import { CfnRole, type IPrincipal, Policy, PolicyStatement, Role, ServicePrincipal, type IGrantable, type IRole } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  GRAPHQL_INTROSPECTION_SETTINGS,
  GRAPHQL_LIMITS,
  MUTATION_FIELDS,
  NONE_DATA_SOURCE_FIELDS,
  QUERY_FIELDS,
  SCHEMA_PATH,
} from '../src/contracts/graphql-api.js';
import { WATCH_SECONDS, WATCHED_UNTIL_ATTRIBUTE } from '../src/contracts/live-updates.js';
import { API_GROUP_DESCRIPTIONS, API_GROUPS } from '../src/contracts/groups.js';
import { VARIABLES } from '../src/contracts/environment/variables.js';
import { LAMBDA_FUNCTIONS } from '../src/contracts/lambda-functions.js';
import { choiceContextFlag, integerContextFlag, urlListContextFlag } from './context-flags.js';
import { PlatformFunction } from './platform-function.js';
import type { Storage } from './storage.js';
import { acknowledgeIndexQueries, grantDeviceMessaging } from './device-messaging.js';
import { ALARMS_TABLE, COMMANDS_TABLE, TWINS_TABLE } from '../src/contracts/tables.js';

/** Something that publishes changes to AppSync (the change feed's events function). */
export interface ChangePublisherFunction extends IGrantable {
  addEnvironment(key: string, value: string): unknown;
}

/** Who reads telemetry: its construct (scope of any policy made for it), its role, and its environment. */
export interface TelemetryReadConsumer {
  readonly scope: Construct;
  readonly role: IRole;
  addEnvironment(key: string, value: string): unknown;
}

/** Grants telemetry reads and sets the variables naming the store (IngestPipeline does). */
export interface TelemetryReadGrant {
  grantTelemetryRead(consumer: TelemetryReadConsumer): void;
}

/** Props of {@link Api}. */
export interface ApiProps {
  /** Tables the resolvers read and write. */
  readonly storage: Storage;
  /** Where telemetry is read from (the IngestPipeline, whichever store it writes). */
  readonly telemetry: TelemetryReadGrant;
  /**
   * Gets `appsync:GraphQL` on publishDeviceUpdate only, and APPSYNC_GRAPHQL_URL.
   * @default - no publisher: deviceUpdated never fires
   */
  readonly changePublisher?: ChangePublisherFunction;
  /**
   * Resolver handler entry (tests pass a fixture).
   * @default 'lambdas/graphql/index.ts'
   */
  readonly entry?: string;
  /**
   * Field log level of the API's request logging.
   * @default FieldLogLevel.ERROR (ALL would log every field's arguments, including user data)
   */
  readonly fieldLogLevel?: FieldLogLevel;
  /**
   * Most concurrent executions of the resolver function (its reserved concurrency).
   * @default - context `resolverMaxConcurrency` (`off` for none), else DEFAULT_RESOLVER_MAX_CONCURRENCY
   */
  readonly resolverMaxConcurrency?: number;
}

/** Where sign-in returns to unless `-c authCallbackUrls=...` says otherwise: the console of `npm start`. */
export const DEFAULT_AUTH_CALLBACK_URLS: readonly string[] = ['http://localhost:4000/'];

/** The resolver's concurrency cap unless context says otherwise: 100 of the default account quota of 1,000. */
export const DEFAULT_RESOLVER_MAX_CONCURRENCY = 100;

// Pass-through resolvers on the NONE data source (APPSYNC_JS): publishDeviceUpdate returns its
// input, which AppSync then fans out to the deviceUpdated subscriptions listening to it.
const PASS_THROUGH_CODE = `
export function request(ctx) { return { payload: ctx.args.input }; }
export function response(ctx) { return ctx.result; }
`;

// commandUpdated(deviceId): AppSync enhanced filtering on the deviceId argument (no deviceId = every device).
const COMMAND_SUBSCRIPTION_FILTER_CODE = `
import { util, extensions } from '@aws-appsync/utils';
export function request(ctx) { return { payload: null }; }
export function response(ctx) {
  if (ctx.args.deviceId) {
    extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter({ deviceId: { eq: ctx.args.deviceId } }));
  }
  return null;
}
`;

// deviceUpdated(id): marks the device watched (WATCHED_UNTIL_ATTRIBUTE on its item, so the
// change feed publishes its telemetry one change at a time, to this filter only) and filters on
// the id with AppSync enhanced filtering. No id = every device, nothing to mark. An unknown
// device is not an error: the subscription waits for its creation, as before.
const SUBSCRIPTION_FILTER_CODE = `
import { util, extensions, runtime } from '@aws-appsync/utils';
export function request(ctx) {
  if (!ctx.args.id) runtime.earlyReturn(null);
  return {
    operation: 'UpdateItem',
    key: util.dynamodb.toMapValues({ id: ctx.args.id }),
    update: {
      expression: 'SET #watched = :until',
      expressionNames: { '#watched': '${WATCHED_UNTIL_ATTRIBUTE}' },
      expressionValues: util.dynamodb.toMapValues({ ':until': util.time.nowEpochSeconds() + ${WATCH_SECONDS} }),
    },
    condition: { expression: 'attribute_exists(#id)', expressionNames: { '#id': 'id' } },
  };
}
export function response(ctx) {
  if (ctx.error && ctx.error.type !== 'DynamoDB:ConditionalCheckFailedException') util.error(ctx.error.message, ctx.error.type);
  extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter({ id: { eq: ctx.args.id } }));
  return null;
}
`;

// alarmUpdated(deviceId): the same filtering on the transition's device (no deviceId = every alarm).
const ALARM_SUBSCRIPTION_FILTER_CODE = `
import { util, extensions } from '@aws-appsync/utils';
export function request(ctx) { return { payload: null }; }
export function response(ctx) {
  if (ctx.args.deviceId) {
    extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter({ deviceId: { eq: ctx.args.deviceId } }));
  }
  return null;
}
`;

/**
 * The client API: AppSync GraphQL from schema/schema.graphql, Cognito user pool (default mode,
 * groups admin/viewer) and IAM (internal publishers) auth, no API key; the Lambda resolver for
 * every Query/Mutation field, a NONE data source for publishDeviceUpdate; request logging and
 * X-Ray.
 */
export class Api extends Construct {
  public readonly api: GraphqlApi;
  public readonly userPool: UserPool;
  public readonly userPoolClient: UserPoolClient;
  /** The resolver function (lambdas/graphql). */
  public readonly resolverFunction: PlatformFunction;
  /** wss:// endpoint of AppSync's real-time protocol. */
  public readonly realtimeUrl: string;

  constructor(scope: Construct, id: string, private readonly props: ApiProps) {
    super(scope, id);

    this.userPool = new UserPool(this, 'UserPool', {
      // Operators create users (and put them in a group); nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const group of API_GROUPS) {
      new CfnUserPoolGroup(this, `${group[0]!.toUpperCase()}${group.slice(1)}Group`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group,
        description: API_GROUP_DESCRIPTIONS[group],
      });
    }
    // A public client (no secret): the authorization code flow only, which browsers run with
    // PKCE; no implicit flow (tokens in URLs), callbacks and token lifetimes from context.
    this.userPoolClient = this.userPool.addClient('WebClient', {
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      generateSecret: false,
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: urlListContextFlag(this, 'authCallbackUrls', DEFAULT_AUTH_CALLBACK_URLS),
        logoutUrls: urlListContextFlag(this, 'authLogoutUrls', DEFAULT_AUTH_CALLBACK_URLS),
      },
      accessTokenValidity: Duration.minutes(integerContextFlag(this, 'accessTokenMinutes', 60, { min: 5, max: 1_440 })!),
      idTokenValidity: Duration.minutes(integerContextFlag(this, 'idTokenMinutes', 60, { min: 5, max: 1_440 })!),
      refreshTokenValidity: Duration.days(integerContextFlag(this, 'refreshTokenDays', 30, { min: 1, max: 3_650 })!),
      enableTokenRevocation: true,
    });

    // An own logging role scoped to AppSync's log groups, instead of the AWS managed policy
    // (AWSAppSyncPushToCloudWatchLogs), which may write to every log group in the account.
    // Confused deputy: AppSync may assume it only for APIs of this account and region (the API's
    // own id is not known before the API, which needs this role first).
    const logRole = new Role(this, 'LogRole', {
      assumedBy: appSyncPrincipal(Stack.of(this).formatArn({ service: 'appsync', resource: 'apis', resourceName: '*' }), Stack.of(this).account),
      description: 'Lets AppSync write the request logs of the IoT platform API',
    });

    this.api = new GraphqlApi(this, 'GraphqlApi', {
      name: 'iot-platform',
      definition: Definition.fromFile(SCHEMA_PATH),
      authorizationConfig: {
        defaultAuthorization: {
          authorizationType: AuthorizationType.USER_POOL,
          userPoolConfig: { userPool: this.userPool, defaultAction: UserPoolDefaultAction.ALLOW },
        },
        additionalAuthorizationModes: [{ authorizationType: AuthorizationType.IAM }],
      },
      xrayEnabled: true,
      queryDepthLimit: GRAPHQL_LIMITS.queryDepth,
      resolverCountLimit: GRAPHQL_LIMITS.resolverCount,
      introspectionConfig:
        choiceContextFlag(this, 'graphqlIntrospection', GRAPHQL_INTROSPECTION_SETTINGS, 'disabled') === 'enabled' ? IntrospectionConfig.ENABLED : IntrospectionConfig.DISABLED,
    });
    const cfnApi = this.api.node.defaultChild as CfnGraphQLApi;
    // Set on the L1: the L2's logConfig adds a LogRetention custom resource (a Lambda with the
    // AWS managed basic execution policy) only to set what the explicit log group below sets.
    cfnApi.logConfig = {
      cloudWatchLogsRoleArn: logRole.roleArn,
      fieldLogLevel: props.fieldLogLevel ?? FieldLogLevel.ERROR,
      excludeVerboseContent: true,
    };
    this.realtimeUrl = cfnApi.attrRealtimeUrl;
    // The group AppSync writes to, created explicitly so it has a retention and survives the API.
    const apiLogs = new LogGroup(this, 'ApiLogs', {
      logGroupName: `/aws/appsync/apis/${this.api.apiId}`,
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // A policy apart from the role, so it can name this API's log group: the role must exist
    // before the API, the API before its id, and the policy only after both.
    new Policy(this, 'LogPolicy', {
      roles: [logRole],
      statements: [new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [apiLogs.logGroupArn] })],
    });

    const secret = new Secret(this, 'PageTokenSecret', {
      description: 'HMAC key of the GraphQL page tokens',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });

    this.resolverFunction = new PlatformFunction(this, 'ResolverFunction', {
      entry: props.entry ?? LAMBDA_FUNCTIONS.graphql.entry,
      serviceName: LAMBDA_FUNCTIONS.graphql.serviceName,
      description: 'AppSync direct Lambda resolver of the device registry and telemetry',
      environment: { [VARIABLES.pageTokenSecretArn]: secret.secretArn },
      // A cap as much as a reservation: an API flood takes at most this many concurrent
      // executions from the account, leaving the rest to ingestion and the change feed.
      reservedConcurrentExecutions:
        props.resolverMaxConcurrency ?? integerContextFlag(this, 'resolverMaxConcurrency', DEFAULT_RESOLVER_MAX_CONCURRENCY, { min: 1, max: 10_000 }),
    });
    secret.grantRead(this.resolverFunction);
    props.storage.grantDevicesReadWrite(this.resolverFunction);
    props.storage.grantStatsRead(this.resolverFunction);
    // Alarm rules and actions (put, conditional put, delete, batch delete of a rule's alarms) and their listings by index.
    props.storage.grant(ALARMS_TABLE, this.resolverFunction, 'readWrite');
    props.telemetry.grantTelemetryRead({
      scope: this.resolverFunction,
      role: this.resolverFunction.executionRole,
      addEnvironment: (key, value) => this.resolverFunction.addEnvironment(key, value),
    });
    props.storage.grant(COMMANDS_TABLE, this.resolverFunction, 'readWrite');
    props.storage.grant(TWINS_TABLE, this.resolverFunction, 'readWrite');
    grantDeviceMessaging(this.resolverFunction);

    const lambdaSource: LambdaDataSource = this.api.addLambdaDataSource('ResolverSource', this.resolverFunction);
    // The data source makes its own role; only this API of this account may assume it.
    const sourceRole = lambdaSource.grantPrincipal as Role;
    (sourceRole.node.defaultChild as CfnRole).addPropertyOverride('AssumeRolePolicyDocument.Statement.0.Condition', {
      StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      ArnEquals: { 'aws:SourceArn': this.api.arn },
    });
    const noneSource = this.api.addNoneDataSource('NoneSource');
    const noneFields = new Set<string>(NONE_DATA_SOURCE_FIELDS);
    const rootFields = [
      ...QUERY_FIELDS.map((field) => ['Query', field] as const),
      ...MUTATION_FIELDS.map((field) => ['Mutation', field] as const),
    ];
    for (const [typeName, fieldName] of rootFields) {
      if (noneFields.has(`${typeName}.${fieldName}`)) {
        noneSource.createResolver(`${typeName}${fieldName}Resolver`, {
          typeName,
          fieldName,
          runtime: FunctionRuntime.JS_1_0_0,
          code: Code.fromInline(PASS_THROUGH_CODE),
        });
      } else {
        // No code: a direct Lambda resolver, invoked with AppSync's full context.
        lambdaSource.createResolver(`${typeName}${fieldName}Resolver`, { typeName, fieldName });
      }
    }
    // Writes one attribute of a Devices item per subscribe: UpdateItem only, no reads.
    const watchRole = new Role(this, 'DeviceWatchRole', { assumedBy: appSyncPrincipal(this.api.arn, Stack.of(this).account) });
    watchRole.addToPolicy(new PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [props.storage.devicesTable.tableArn] }));
    const watchSource = new DynamoDbDataSource(this, 'DeviceWatchSource', {
      api: this.api,
      table: props.storage.devicesTable,
      // The data source would grant itself read/write on the table and its indexes; the role has exactly UpdateItem.
      serviceRole: watchRole.withoutPolicyUpdates(),
      description: 'deviceUpdated(id) marks its device watched',
    });
    watchSource.createResolver('SubscriptiondeviceUpdatedResolver', {
      typeName: 'Subscription',
      fieldName: 'deviceUpdated',
      runtime: FunctionRuntime.JS_1_0_0,
      code: Code.fromInline(SUBSCRIPTION_FILTER_CODE),
    });

    noneSource.createResolver('SubscriptioncommandUpdatedResolver', {
      typeName: 'Subscription',
      fieldName: 'commandUpdated',
      runtime: FunctionRuntime.JS_1_0_0,
      code: Code.fromInline(COMMAND_SUBSCRIPTION_FILTER_CODE),
    });
    noneSource.createResolver('SubscriptionalarmUpdatedResolver', {
      typeName: 'Subscription',
      fieldName: 'alarmUpdated',
      runtime: FunctionRuntime.JS_1_0_0,
      code: Code.fromInline(ALARM_SUBSCRIPTION_FILTER_CODE),
    });

    if (props.changePublisher) {
      this.api.grantMutation(props.changePublisher, 'publishDeviceUpdate', 'publishTelemetryBatch', 'publishCommandUpdate');
      props.changePublisher.addEnvironment(VARIABLES.appSyncGraphqlUrl, this.api.graphqlUrl);
    }

    // Stack-level outputs, so operators read plain names (GraphqlUrl, ...) without construct hashes.
    const stack = Stack.of(this);
    new CfnOutput(stack, 'GraphqlUrl', { value: this.api.graphqlUrl, description: 'AppSync GraphQL endpoint' });
    new CfnOutput(stack, 'RealtimeUrl', { value: this.realtimeUrl, description: 'AppSync real-time (subscriptions) endpoint' });
    new CfnOutput(stack, 'UserPoolId', { value: this.userPool.userPoolId, description: 'Cognito user pool of the API users' });
    new CfnOutput(stack, 'UserPoolClientId', { value: this.userPoolClient.userPoolClientId, description: 'App client id for web and mobile sign-in' });
    this.acknowledgeFindings(secret, lambdaSource);
  }

  private acknowledgeFindings(secret: Secret, lambdaSource: LambdaDataSource): void {
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-ASC3',
      reason: 'Request logging is on (field level ERROR, own role, explicit log group); verbose content stays off because it would log request headers and resolver context, which hold user data and tokens.',
    });
    Validations.of(lambdaSource).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.resolverFunction.node.defaultChild as CfnResource)}.Arn>:*]`,
      reason: 'CDK grants lambda:InvokeFunction on the resolver function and its versions/aliases (ARN:*); it names this one function only.',
    });
    Validations.of(this.resolverFunction.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.props.storage.devicesTable.node.defaultChild as CfnResource)}.Arn>/index/*]`,
      reason: 'devices(filter) queries the Devices table through its indexes (status, type and creation order); the grant names this table only.',
    });
    acknowledgeIndexQueries(
      this.resolverFunction.executionRole,
      this.props.storage.table(COMMANDS_TABLE),
      'commands(deviceId) lists through the byDevice index, and sends and cancels read the queue and deadline indexes; the grant names this table only.',
    );
    Validations.of(this.resolverFunction.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.props.storage.table(ALARMS_TABLE).node.defaultChild as CfnResource)}.Arn>/index/*]`,
      reason: 'alarms(filter) lists alarms through the Alarms indexes (by rule, state and change time); the grant names this table only.',
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The page-token key only signs listing cursors; rotating it would invalidate every listing in progress for no security gain (tokens grant no access, the caller is still authorized per request).',
    });
  }
}

/** AppSync as a principal for the API(s) `sourceArn` of `account` only (confused-deputy conditions). */
function appSyncPrincipal(sourceArn: string, account: string): IPrincipal {
  return new ServicePrincipal('appsync.amazonaws.com').withConditions({
    StringEquals: { 'aws:SourceAccount': account },
    ArnLike: { 'aws:SourceArn': sourceArn },
  });
}
