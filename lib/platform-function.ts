import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../src/contracts/metrics.js';
import { choiceContextFlag } from './context-flags.js';
import { LEAN_AWS_CLIENTS } from './lean-aws-clients.js';

/** Absolute path of the repository root (the folder holding package.json and package-lock.json). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * ESM bundles have no `require`; some dependencies (inside the AWS SDK and Powertools) still
 * call it for Node built-ins, so the bundle recreates it from `import.meta.url`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __platformCreateRequire } from 'node:module'; const require = __platformCreateRequire(import.meta.url);";

/** `-c lambdaSourceMaps=runtime` applies the source maps at run time in every function (`file`, the default: only emitted). */
export const SOURCE_MAPS_FLAG = 'lambdaSourceMaps';

/** `-c lambdaAwsClients=sdk` bundles the AWS SDK's clients in every function (`lean`, the default: the platform's lean clients). */
export const AWS_CLIENTS_FLAG = 'lambdaAwsClients';

/**
 * The environment-only provider that stands in for `@aws-sdk/credential-provider-node` in the
 * bundles (a path for esbuild, relative to the repository root; lib/ never imports it).
 */
export const LAMBDA_CREDENTIAL_PROVIDER = 'src/adapters/aws/lambda-credential-provider.ts';

/** Props of a {@link PlatformFunction}. */
export interface PlatformFunctionProps {
  /** Handler source file; a relative path is resolved from the repository root (e.g. `lambdas/events/index.ts`). */
  readonly entry: string;
  /** Value of POWERTOOLS_SERVICE_NAME: names the service in every log line, metric and trace. */
  readonly serviceName: string;
  /**
   * Exported handler function name.
   * @default 'handler'
   */
  readonly handler?: string;
  /** @default - none */
  readonly description?: string;
  /**
   * Memory in MB. 256 MB on arm64 gives the SDK enough CPU for JSON-heavy batches at low cost.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Extra environment variables (table names are added by the constructs that grant access).
   * @default - only the Powertools variables
   */
  readonly environment?: Record<string, string>;
  /**
   * How long the function's log events are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the log group when the function is removed. RETAIN keeps the logs of a
   * replaced or destroyed function for an incident review; the retention period still empties
   * the group, so a retained group costs next to nothing.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Emit a source map (external `.map` file beside the bundle, without sources), to map a
   * minified stack trace back to TypeScript lines offline or in an error tracker.
   * @default true
   */
  readonly sourceMaps?: boolean;
  /**
   * Apply the source map at run time (`NODE_OPTIONS=--enable-source-maps`), so logged stack
   * traces show TypeScript lines. Off by default: node then parses the map at every cold start
   * (~12 ms CPU, `npm run bench:lambda`). Also `-c lambdaSourceMaps=runtime` for every function.
   * @default false
   */
  readonly sourceMapsAtRuntime?: boolean;
  /**
   * Which AWS clients the bundle carries. `lean`: the platform's own clients (a signed HTTPS call
   * per request, the SDK's retries and error names) in place of the SDK packages listed in
   * LEAN_AWS_CLIENTS, aliased at bundle time; a cold start then compiles a few KB instead of
   * ~300 KB of SDK (`npm run bench:lambda`). `sdk`: the AWS SDK's clients. Also
   * `-c lambdaAwsClients=sdk` for every function.
   * @default 'lean'
   */
  readonly awsClients?: 'lean' | 'sdk';
  /**
   * Where the bundled SDK clients take credentials from (with `awsClients: 'sdk'`; the lean
   * clients read the environment only). `environment`: the execution role's
   * credentials that Lambda puts in the environment, and nothing else; the SDK's default chain
   * (SSO, STS web identity, INI files, IMDS, container endpoint) is replaced at bundle time, which
   * takes ~90 KB and ~12 ms CPU off every cold start. `default-chain` keeps the SDK's chain, for a
   * runtime that would hand credentials over differently.
   * @default 'environment'
   */
  readonly credentials?: 'environment' | 'default-chain';
  /**
   * CloudWatch namespace for Powertools metrics.
   * @default 'IotPlatform'
   */
  readonly metricsNamespace?: string;
  /**
   * Reserved concurrency.
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The platform's Lambda function: nodejs24.x on arm64, a minified ESM bundle built by the
 * local esbuild with the AWS SDK inside it, an explicit log group with retention and Powertools
 * settings. Every Lambda of the platform uses it. Active X-Ray tracing is off: without the
 * Powertools Tracer no SDK call or HTTPS publish makes a subsegment, and the Tracer costs every
 * cold start (see the README, Tracing); Powertools logs and metrics carry the request id instead.
 */
export class PlatformFunction extends NodejsFunction {
  /** The execution role; it can write only to this function's own log group (`logGroup`, created explicitly beside the function). */
  public readonly executionRole: Role;
  /** The handler module, relative to the repository root when it is inside it. */
  public readonly entry: string;
  /** POWERTOOLS_SERVICE_NAME. */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    const sourceMaps = props.sourceMaps ?? true;
    const sourceMapsAtRuntime = sourceMaps && (props.sourceMapsAtRuntime ?? choiceContextFlag(scope, SOURCE_MAPS_FLAG, ['file', 'runtime'], 'file') === 'runtime');
    const awsClients = props.awsClients ?? choiceContextFlag(scope, AWS_CLIENTS_FLAG, ['lean', 'sdk'], 'lean');
    const aliases = [
      ...(awsClients === 'lean' ? Object.entries(LEAN_AWS_CLIENTS).map(([pkg, path]) => `${pkg}=./${path}`) : []),
      ...((props.credentials ?? 'environment') === 'environment' ? [`@aws-sdk/credential-provider-node=./${LAMBDA_CREDENTIAL_PROVIDER}`] : []),
    ];
    // Created beside the function (not inside it) because the function needs both at construction.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // An own role instead of the AWSLambdaBasicExecutionRole managed policy, which may write to
    // every log group in the account.
    const role = new Role(scope, `${id}ServiceRole`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: isAbsolute(props.entry) ? props.entry : join(PROJECT_ROOT, props.entry),
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? METRICS_NAMESPACE,
        ...(sourceMapsAtRuntime && { NODE_OPTIONS: '--enable-source-maps' }),
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        banner: ESM_REQUIRE_BANNER,
        // ESM entry points first, so esbuild can tree-shake the SDK.
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: sourceMaps,
        sourceMapMode: sourceMaps ? SourceMapMode.DEFAULT : undefined,
        sourcesContent: false,
        // The pinned SDK in the bundle, not whatever version the runtime ships: same code tested
        // locally and run in Lambda, and tree-shaking keeps it small.
        bundleAwsSDK: true,
        externalModules: [],
        // Never fall back to Docker: the machines that synth have none.
        forceDockerBundling: false,
        ...(aliases.length > 0 && { esbuildArgs: { '--alias': aliases } }),
      },
    });
    this.executionRole = role;
    this.entry = isAbsolute(props.entry) ? relativeToProject(props.entry) : props.entry;
    this.serviceName = props.serviceName;
  }
}

function relativeToProject(path: string): string {
  const inside = relative(PROJECT_ROOT, path);
  return inside.startsWith('..') ? path : inside.split(sep).join('/');
}
