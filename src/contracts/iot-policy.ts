/**
 * The device IoT policy as plain data: the single document the CDK deploys (lib/device-policy.ts)
 * and the local broker's authorizer evaluates (src/local/iot-core/policy-evaluator.ts), so both enforce
 * exactly the same rules. Policy variables stay literal (`${iot:...}`); IoT substitutes them per
 * connection.
 */
import { basicIngestTopic, commandResponseTopic, commandTopic, stateTopic, telemetryTopic, twinDeltaTopic } from './topics.js';

/** One statement of an IoT policy (the subset of the IAM grammar IoT accepts). */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** An IoT policy document. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** Where the policy applies; in CDK these are the stack's Aws.PARTITION/REGION/ACCOUNT_ID tokens. */
export interface DevicePolicyParams {
  readonly partition?: string;
  readonly region: string;
  readonly account: string;
  /** Name of the IoT rule behind the Basic Ingest telemetry topic. */
  readonly telemetryRuleName: string;
}

/** The thing-name policy variable, literal: IoT resolves it from the connection. */
export const THING_NAME_VARIABLE = '${iot:Connection.Thing.ThingName}';

/** Region and account the local broker evaluates the policy with (any fixed values work). */
export const LOCAL_POLICY_PARAMS = { partition: 'aws', region: 'us-east-1', account: '000000000000' } as const;

/** The ARN prefix of IoT resources (`arn:aws:iot:<region>:<account>:`). */
export function iotArnPrefix(params: Pick<DevicePolicyParams, 'partition' | 'region' | 'account'>): string {
  return `arn:${params.partition ?? 'aws'}:iot:${params.region}:${params.account}:`;
}

/**
 * The least-privilege device policy: connect only as the attached thing, publish only its own
 * telemetry (plain and Basic Ingest), state and command answers, subscribe to and receive only
 * its own commands and twin delta.
 */
export function devicePolicyDocument(params: DevicePolicyParams): PolicyDocument {
  const arn = iotArnPrefix(params);
  const thing = THING_NAME_VARIABLE;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ConnectAsAttachedThing',
        Effect: 'Allow',
        Action: 'iot:Connect',
        Resource: `${arn}client/${thing}`,
        Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
      },
      {
        Sid: 'PublishOwnTelemetryStateAndAnswers',
        Effect: 'Allow',
        Action: 'iot:Publish',
        Resource: [
          `${arn}topic/${basicIngestTopic(params.telemetryRuleName, telemetryTopic(thing))}`,
          `${arn}topic/${telemetryTopic(thing)}`,
          `${arn}topic/${stateTopic(thing)}`,
          `${arn}topic/${commandResponseTopic(thing)}`,
        ],
      },
      {
        Sid: 'SubscribeOwnCommandsAndDelta',
        Effect: 'Allow',
        Action: 'iot:Subscribe',
        Resource: [`${arn}topicfilter/${commandTopic(thing)}`, `${arn}topicfilter/${twinDeltaTopic(thing)}`],
      },
      {
        Sid: 'ReceiveOwnCommandsAndDelta',
        Effect: 'Allow',
        Action: 'iot:Receive',
        Resource: [`${arn}topic/${commandTopic(thing)}`, `${arn}topic/${twinDeltaTopic(thing)}`],
      },
    ],
  };
}
