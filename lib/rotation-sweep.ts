import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LAMBDA_FUNCTIONS } from '../src/contracts/lambda-functions.js';
import { DEFAULT_ROTATION_SWEEP_MINUTES, ROTATION_DUE_INDEX, ROTATION_SWEEP_CONTEXT } from '../src/contracts/rotation-sweep.js';
import { DEVICES_TABLE } from '../src/contracts/tables.js';
import { grantCertificateRetirement } from './certificate-retirement.js';
import { integerContextFlag } from './context-flags.js';
import { PlatformFunction } from './platform-function.js';
import type { Storage } from './storage.js';

/** Props of {@link RotationSweep}. */
export interface RotationSweepProps {
  readonly storage: Storage;
  /**
   * Time between runs: the longest an old certificate stays valid after its grace period ends.
   * @default - context `rotationSweepMinutes`, else DEFAULT_ROTATION_SWEEP_MINUTES (5)
   */
  readonly interval?: Duration;
  /** @default LAMBDA_FUNCTIONS.rotationSweep.entry */
  readonly entry?: string;
}

/**
 * The certificate rotation sweep: a scheduled function that queries the Devices table's sparse
 * byGraceEnd index for rotations whose grace period has ended and finishes each (revokes the
 * old certificate, detaches its policies and thing, then updates the binding). The role may
 * query that one index, read and conditionally update Devices items, and make the five IoT
 * calls of a finish on this account's certificates and things only.
 */
export class RotationSweep extends Construct {
  public readonly fn: PlatformFunction;
  public readonly interval: Duration;
  public readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: RotationSweepProps) {
    super(scope, id);
    this.interval =
      props.interval ?? Duration.minutes(integerContextFlag(this, ROTATION_SWEEP_CONTEXT, DEFAULT_ROTATION_SWEEP_MINUTES, { min: 1, max: 60 }) ?? DEFAULT_ROTATION_SWEEP_MINUTES);
    const table = props.storage.devicesTable;
    this.fn = new PlatformFunction(this, 'Function', {
      entry: props.entry ?? LAMBDA_FUNCTIONS.rotationSweep.entry,
      serviceName: LAMBDA_FUNCTIONS.rotationSweep.serviceName,
      description: 'Finishes the certificate rotations whose grace period has ended: revokes and detaches the old certificate',
      // A run must end before the next one starts; what it leaves is finished by the next (a finish is resumable).
      timeout: Duration.seconds(Math.max(30, Math.min(this.interval.toSeconds() - 10, 900))),
      environment: { [DEVICES_TABLE.tableNameEnv]: table.tableName },
    });
    // The next scheduled run is the retry: an immediate one would repeat a failing run's requests.
    this.fn.configureAsyncInvoke({ retryAttempts: 0 });
    const role = this.fn.executionRole;
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${ROTATION_DUE_INDEX}`] }));
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [table.tableArn] }));
    grantCertificateRetirement(this, 'RetireOldCertificates', role, {
      certificate: "The certificate to retire is a device's previous one, known only from its binding at run time; the pattern is limited to this account's and region's certificates.",
      thing: "Detaching the old certificate from the device's thing, whose name (the device id) is known only at run time; limited to this account's and region's things.",
    });
    this.schedule = new Rule(this, 'Schedule', {
      schedule: Schedule.rate(this.interval),
      description: 'Runs the certificate rotation sweep',
      targets: [new LambdaFunction(this.fn, { retryAttempts: 0 })],
    });
  }
}
