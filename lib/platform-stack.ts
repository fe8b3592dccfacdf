import { CfnOutput, Duration, Stack, type Stage, type StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.js';
import { Api } from './api.js';
import { Console } from './console.js';
import { ChangeFeed, liveTelemetryUpdatesFromContext } from './change-feed.js';
import { DeviceControl } from './device-control.js';
import { DevicePolicy } from './device-policy.js';
import { DeviceService } from './device-service.js';
import { ApiFirewall } from './api-firewall.js';
import { GrpcAccess } from './grpc-access.js';
import { IngestPipeline } from './ingest-pipeline.js';
import { IotAccountSecurity } from './iot-account-security.js';
import { Monitoring } from './monitoring.js';
import { PlatformFunction } from './platform-function.js';
import { PresenceReconciler } from './presence-reconciler.js';
import { RotationSweep } from './rotation-sweep.js';
import { Storage } from './storage.js';

/** Where telemetry points are stored (context flag `telemetryStore`). */
export type TelemetryStore = 'timestream' | 'dynamodb';

/** Accepted values of the `telemetryStore` context flag. */
export const TELEMETRY_STORES: readonly TelemetryStore[] = ['dynamodb', 'timestream'];

/**
 * Reads and validates the `telemetryStore` context flag (`-c telemetryStore=...`).
 * @default 'dynamodb' when the flag is absent: it works in every account, Timestream
 *   LiveAnalytics is closed to new customers.
 */
export function telemetryStoreFromContext(scope: Construct): TelemetryStore {
  const value: unknown = scope.node.tryGetContext('telemetryStore') ?? 'dynamodb';
  if (typeof value !== 'string' || !(TELEMETRY_STORES as readonly string[]).includes(value)) {
    throw new Error(
      `Invalid context flag telemetryStore=${JSON.stringify(value)}: use -c telemetryStore=dynamodb or -c telemetryStore=timestream`,
    );
  }
  return value as TelemetryStore;
}

/**
 * The compliance gate: cdk-nag AwsSolutions runs on every synth of the app, and any finding not
 * acknowledged on its resource (`Validations.of(construct).acknowledge({ id, reason })`) fails it.
 */
export function addComplianceChecks(app: Stage): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** Props of {@link PlatformStack}. */
export interface PlatformStackProps extends StackProps {
  /**
   * Telemetry store.
   * @default - the `telemetryStore` context flag, else 'dynamodb'
   */
  readonly telemetryStore?: TelemetryStore;
  /**
   * The built web console.
   * @default - console/dist (`npm run build:console`)
   */
  readonly consoleAssetPath?: string;
}

/**
 * The whole platform in one environment-agnostic stack: storage and the change feed, then the
 * device pipeline, the GraphQL API and the gRPC service, each added as one construct.
 */
export class PlatformStack extends Stack {
  /** The selected telemetry store. */
  public readonly telemetryStore: TelemetryStore;
  /** The DynamoDB tables. */
  public readonly storage: Storage;
  /** Devices stream → events Lambda (stats + publishers). */
  public readonly changeFeed: ChangeFeed;
  /** The web console (CloudFront + S3). */
  public readonly console: Console;
  /** Alarms, their SNS topic and the dashboard. */
  public readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: PlatformStackProps = {}) {
    super(scope, id, props);
    this.telemetryStore = props.telemetryStore ?? telemetryStoreFromContext(this);

    this.storage = new Storage(this, 'Storage', { telemetryTable: this.telemetryStore === 'dynamodb' });
    this.changeFeed = new ChangeFeed(this, 'ChangeFeed', { storage: this.storage, liveTelemetryUpdates: liveTelemetryUpdatesFromContext(this) });
    const ingest = new IngestPipeline(this, 'IngestPipeline', { storage: this.storage, telemetryStore: this.telemetryStore });
    const api = new Api(this, 'Api', { storage: this.storage, telemetry: ingest, changePublisher: this.changeFeed.fn });
    new DeviceControl(this, 'DeviceControl', {
      storage: this.storage,
      deadLetterQueue: ingest.deadLetterQueue,
      ruleErrorQueue: ingest.ruleErrorQueue,
      failureQueue: ingest.failureQueue,
    });
    new ApiFirewall(this, 'ApiFirewall', { apiArn: api.api.arn });
    const grpcAccess = new GrpcAccess(this, 'GrpcAccess', { userPool: api.userPool });
    this.console = new Console(this, 'Console', {
      api: { graphqlUrl: api.api.graphqlUrl, realtimeUrl: api.realtimeUrl },
      userPool: api.userPool,
      userPoolClient: api.userPoolClient,
      // The pool's one domain: it serves the gRPC token endpoint and the console's hosted sign-in.
      signInDomain: grpcAccess.domain,
      ...(props.consoleAssetPath && { assetPath: props.consoleAssetPath }),
    });
    const devicePolicy = new DevicePolicy(this, 'DevicePolicy');
    new IotAccountSecurity(this, 'IotAccountSecurity');
    new CfnOutput(this, 'DevicePolicyName', { value: devicePolicy.policyName });
    const deviceService = new DeviceService(this, 'DeviceService', {
      storage: this.storage,
      changePublisher: this.changeFeed.fn,
      userPool: api.userPool,
      // People's access tokens (web client) and internal services' (client credentials).
      accessTokenClientIds: [api.userPoolClient.userPoolClientId, grpcAccess.internalClient.userPoolClientId],
      telemetry: ingest,
    });
    new CfnOutput(this, 'GrpcEndpoint', {
      value: deviceService.endpoint,
      description: 'gRPC DeviceService (internal NLB), reachable from inside the VPC',
    });

    const alarms = new Alarms(this, 'Alarms', { storage: this.storage, graphqlApi: api.api, alarmTopics: true });

    new CfnOutput(this, 'DevicesTableName', { value: this.storage.devicesTable.tableName });
    new CfnOutput(this, 'StatsTableName', { value: this.storage.statsTable.tableName });
    if (this.storage.telemetryTable) {
      new CfnOutput(this, 'TelemetryTableName', { value: this.storage.telemetryTable.tableName });
    }
    new CfnOutput(this, 'ChangeFeedDeadLetterQueueUrl', { value: this.changeFeed.deadLetterQueue.queueUrl });

    // Last, so that it finds every function the constructs above created.
    const reconciler = new PresenceReconciler(this, 'PresenceReconciler', { storage: this.storage });
    const rotationSweep = new RotationSweep(this, 'RotationSweep', { storage: this.storage });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      queues: [
        { id: 'IngestDeadLetters', queue: ingest.deadLetterQueue },
        { id: 'IngestRuleErrors', queue: ingest.ruleErrorQueue },
        { id: 'IngestFailures', queue: ingest.failureQueue },
        { id: 'ChangeFeedFailures', queue: this.changeFeed.deadLetterQueue },
        { id: 'AlarmEventFailures', queue: alarms.deadLetterQueue },
      ],
      // The console's deploy-time copy function too: a failed copy leaves an old or broken site.
      functions: [...this.node.findAll().filter((c): c is PlatformFunction => c instanceof PlatformFunction), this.console.deployFunction],
      // Its errors are rotations left unfinished: old certificates still valid past their grace.
      errorRunbookSections: new Map([[rotationSweep.fn, 'RotationSweepFunctionErrors']]),
      streamConsumers: [
        // The ingest mapping waits up to its batching window (60 s by default) on purpose.
        { id: 'IngestIteratorAge', fn: ingest.ingestFunction, maxIteratorAge: Duration.minutes(10) },
        { id: 'ChangeFeedIteratorAge', fn: this.changeFeed.fn, maxIteratorAge: Duration.minutes(5) },
        { id: 'AlarmEventsIteratorAge', fn: alarms.eventsFunction, maxIteratorAge: Duration.minutes(5) },
      ],
      graphqlApi: api.api,
      presenceReconciler: { interval: reconciler.interval },
      grpc: {
        service: deviceService.service,
        loadBalancer: deviceService.loadBalancer,
        targetGroup: deviceService.targetGroup,
        minTasks: deviceService.minTasks,
        logGroup: deviceService.logGroup,
      },
    });
  }
}
