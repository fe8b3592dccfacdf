import { Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { commandTopic, twinDeltaTopic } from '../src/contracts/topics.js';
import type { PlatformFunction } from './platform-function.js';

/**
 * Lets a function publish to devices' command and delta topics (or only those of `topics`) through
 * the IoT data plane (and nothing else of IoT), acknowledging the per-thing wildcard for cdk-nag.
 */
export function grantDeviceMessaging(fn: PlatformFunction, topics: readonly string[] = [commandTopic('*'), twinDeltaTopic('*')]): void {
  const stack = Stack.of(fn);
  const topicArn = (topic: string) => stack.formatArn({ service: 'iot', resource: 'topic', resourceName: topic });
  fn.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Publish'], resources: topics.map(topicArn) }));
  for (const topic of topics) {
    Validations.of(fn.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:topic/${topic}]`,
      reason: 'Commands and twin deltas go to whichever device they are for, so the thing name in the topic is a wildcard; the grant is iot:Publish on these two device-bound topics only.',
    });
  }
}

/** Acknowledges the index wildcard a grant on a table with indexes carries (queries through its GSIs). */
export function acknowledgeIndexQueries(role: Role, table: ITable, reason: string): void {
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(role).getLogicalId(table.node.defaultChild as CfnResource)}.Arn>/index/*]`,
    reason,
  });
}
