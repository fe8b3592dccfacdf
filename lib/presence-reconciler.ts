import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LAMBDA_FUNCTIONS } from '../src/contracts/lambda-functions.js';
import { DEFAULT_PRESENCE_RECONCILE_MINUTES, PRESENCE_RECONCILE_CONTEXT } from '../src/contracts/presence-reconcile.js';
import { DEVICES_TABLE } from '../src/contracts/tables.js';
import { integerContextFlag } from './context-flags.js';
import { PlatformFunction } from './platform-function.js';
import type { Storage } from './storage.js';

/** The index the reconciler pages ONLINE devices through: the one keyed by status. */
const STATUS_INDEX = DEVICES_TABLE.globalSecondaryIndexes.find((index) => index.partitionKey.name === 'status')!.indexName;

/** Props of {@link PresenceReconciler}. */
export interface PresenceReconcilerProps {
  readonly storage: Storage;
  /**
   * Time between runs: the longest a lost disconnect event leaves a device ONLINE.
   * @default - context `presenceReconcileMinutes`, else DEFAULT_PRESENCE_RECONCILE_MINUTES (5)
   */
  readonly interval?: Duration;
  /** @default LAMBDA_FUNCTIONS.presenceReconciler.entry */
  readonly entry?: string;
}

/**
 * The cloud presence reconciler: a scheduled function that pages the ONLINE devices through
 * the Devices table's status index and asks IoT (GetThingConnectivityData) about each, setting
 * OFFLINE with reason CONNECTION_LOST, conditionally, the ones IoT has no connection for. The
 * role may query that one index, read and update Devices items, and read the connectivity of
 * this account's things only.
 */
export class PresenceReconciler extends Construct {
  public readonly fn: PlatformFunction;
  public readonly interval: Duration;
  public readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: PresenceReconcilerProps) {
    super(scope, id);
    this.interval =
      props.interval ?? Duration.minutes(integerContextFlag(this, PRESENCE_RECONCILE_CONTEXT, DEFAULT_PRESENCE_RECONCILE_MINUTES, { min: 1, max: 60 }) ?? DEFAULT_PRESENCE_RECONCILE_MINUTES);
    const table = props.storage.devicesTable;
    this.fn = new PlatformFunction(this, 'Function', {
      entry: props.entry ?? LAMBDA_FUNCTIONS.presenceReconciler.entry,
      serviceName: LAMBDA_FUNCTIONS.presenceReconciler.serviceName,
      description: 'Sets OFFLINE the ONLINE devices IoT has no connection for (status index, GetThingConnectivityData)',
      // A run must end before the next one starts.
      timeout: Duration.seconds(Math.min(this.interval.toSeconds() - 10, 900)),
      environment: { [DEVICES_TABLE.tableNameEnv]: table.tableName },
    });
    const role = this.fn.executionRole;
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${STATUS_INDEX}`] }));
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [table.tableArn] }));
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['iot:GetThingConnectivityData'],
        // Any thing of this account and region: the reconciler asks about every registered device.
        resources: [Stack.of(this).formatArn({ service: 'iot', resource: 'thing', resourceName: '*' })],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:thing/*]',
      reason:
        'Devices are registered at run time, so their thing names are unknown at deploy time; the pattern is limited to things of this account and region, and the one action it allows only reads connectivity.',
    });
    this.schedule = new Rule(this, 'Schedule', {
      schedule: Schedule.rate(this.interval),
      description: 'Runs the presence reconciler',
      targets: [new LambdaFunction(this.fn, { retryAttempts: 0 })],
    });
  }
}
