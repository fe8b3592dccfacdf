import { type Duration, Names, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IEventSourceDlq, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { PlatformFunction } from './platform-function.js';

/** How a function reads one table's stream (the settings of a DynamoDB event source). */
export interface TableStreamSourceOptions {
  readonly startingPosition: StartingPosition;
  readonly batchSize: number;
  readonly bisectBatchOnError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly retryAttempts: number;
  readonly maxRecordAge: Duration;
  readonly parallelizationFactor: number;
  readonly onFailure: IEventSourceDlq;
  readonly filters?: Array<{ [key: string]: unknown }>;
}

const LIST_STREAMS_POLICY_ID = 'ListStreamsPolicy';

/**
 * Subscribes `fn` to `table`'s stream like a DynamoEventSource, except that dynamodb:ListStreams
 * (the only stream action without resource-level permissions) lives in a policy of its own, so
 * the cdk-nag acknowledgement of its Resource "*" covers that one action and nothing else added
 * to the function's role later.
 */
export function addTableStreamSource(fn: PlatformFunction, table: ITable, options: TableStreamSourceOptions): void {
  if (!table.tableStreamArn) throw new Error(`addTableStreamSource: ${table.node.path} has no stream`);
  // Same construct id as DynamoEventSource, so the mapping keeps its logical id.
  fn.addEventSourceMapping(`DynamoDBEventSource:${Names.nodeUniqueId(table.node)}`, {
    eventSourceArn: table.tableStreamArn,
    startingPosition: options.startingPosition,
    batchSize: options.batchSize,
    bisectBatchOnError: options.bisectBatchOnError,
    reportBatchItemFailures: options.reportBatchItemFailures,
    retryAttempts: options.retryAttempts,
    maxRecordAge: options.maxRecordAge,
    parallelizationFactor: options.parallelizationFactor,
    onFailure: options.onFailure,
    filters: options.filters,
  });
  table.grantStream(fn, 'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator');
  if (!fn.node.tryFindChild(LIST_STREAMS_POLICY_ID)) {
    const listStreams = new Policy(fn, LIST_STREAMS_POLICY_ID, {
      statements: [new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] })],
    });
    listStreams.attachToRole(fn.executionRole);
    Validations.of(listStreams).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams, which the stream event source mapping uses, supports only Resource "*"; this policy holds that one action.',
    });
  }
}
