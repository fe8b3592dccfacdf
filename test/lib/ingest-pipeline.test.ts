import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, type CfnElement, Duration, Stack as CdkStack, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestPipeline, type IngestPipelineProps } from '../../lib/ingest-pipeline.js';
import { PlatformFunction } from '../../lib/platform-function.js';
import { Storage } from '../../lib/storage.js';
import { PRESENCE_RULE, TELEMETRY_RULE } from '../../src/contracts/rules.js';
import { INGEST_REPLAY_WINDOW_CONTEXT, INGEST_REPLAY_WINDOW_SECONDS, INGEST_STREAM_MAPPING } from '../../src/contracts/stream-mappings.js';
import { FIXTURE_HANDLER, testStack } from './stack-helper.js';

function build(telemetryStore: 'dynamodb' | 'timestream', context: Record<string, unknown> = {}, props: Partial<IngestPipelineProps> = {}) {
  const stack: Stack = testStack(context);
  const storage = new Storage(stack, 'Storage', { telemetryTable: telemetryStore === 'dynamodb' });
  const pipeline = new IngestPipeline(stack, 'Ingest', { storage, telemetryStore, ...props });
  return { stack, storage, pipeline, template: Template.fromStack(stack) };
}

/** Every statement of the IAM policies attached to a role. */
function statementsOf(template: Template, stack: Stack, roleRef: unknown): Array<{ Action: string | string[]; Resource: unknown }> {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(JSON.stringify(stack.resolve(roleRef))))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('IngestPipeline', () => {
  it('keeps stream records for the mapping\'s maximum record age plus the replay window, by default and when the window is raised', () => {
    // Prepare / Act
    const retention = (context: Record<string, unknown>) => {
      const { template } = build('dynamodb', context);
      const [stream] = Object.values(template.findResources('AWS::Kinesis::Stream'));
      const [mapping] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter((m) => JSON.stringify(m).includes('Stream'));
      return { hours: stream!.Properties.RetentionPeriodHours as number, maxAgeSeconds: mapping!.Properties.MaximumRecordAgeInSeconds as number };
    };
    const byDefault = retention({});
    const raised = retention({ [INGEST_REPLAY_WINDOW_CONTEXT]: '48' });

    // Assess
    expect(byDefault.maxAgeSeconds).toBe(INGEST_STREAM_MAPPING.maxRecordAgeSeconds);
    expect(byDefault.hours * 3600).toBeGreaterThanOrEqual(byDefault.maxAgeSeconds + INGEST_REPLAY_WINDOW_SECONDS);
    expect(byDefault.hours).toBe(24);
    expect(raised.hours * 3600).toBeGreaterThanOrEqual(raised.maxAgeSeconds + 48 * 3600);
    expect(raised.hours).toBe(60);
    expect(() => build('dynamodb', { [INGEST_REPLAY_WINDOW_CONTEXT]: 'soon' })).toThrow(/ingestReplayWindowHours/);
  });

  it('creates an encrypted provisioned stream fed by the telemetry rule from rules.ts, partitioned by thing name', () => {
    // Prepare / Act
    const { stack, pipeline, template } = build('dynamodb');

    // Assess
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 8,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
    });
    template.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: TELEMETRY_RULE.ruleName,
      TopicRulePayload: {
        Sql: TELEMETRY_RULE.sql,
        AwsIotSqlVersion: '2016-03-23',
        Actions: [{ Kinesis: { PartitionKey: '${topic(3)}', StreamName: stack.resolve(pipeline.stream.streamName), RoleArn: Match.anyValue() } }],
        ErrorAction: { Sqs: { QueueUrl: stack.resolve(pipeline.ruleErrorQueue.queueUrl), RoleArn: Match.anyValue() } },
      },
    });
  });

  it('routes lifecycle events to the presence function, with an error action and an invoke permission scoped to the rule', () => {
    const { stack, pipeline, template } = build('dynamodb');
    template.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: PRESENCE_RULE.ruleName,
      TopicRulePayload: {
        Sql: "SELECT * FROM '$aws/events/presence/+/+'",
        Actions: [{ Lambda: { FunctionArn: stack.resolve(pipeline.presenceFunction.functionArn) } }],
        ErrorAction: { Sqs: Match.objectLike({ QueueUrl: stack.resolve(pipeline.ruleErrorQueue.queueUrl) }) },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'iot.amazonaws.com',
      FunctionName: stack.resolve(pipeline.presenceFunction.functionArn),
      SourceArn: stack.resolve(pipeline.presenceRule.attrArn),
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: stack.resolve(pipeline.failureQueue.queueArn) } },
    });
  });

  it('maps the stream to the ingest function with the default batch settings, bisect, partial failures and an SQS on-failure destination', () => {
    const { stack, pipeline, template } = build('dynamodb');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: stack.resolve(pipeline.stream.streamArn),
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 60,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: stack.resolve(pipeline.failureQueue.queueArn) } },
    });
  });

  it('takes the batch settings and shard count from context', () => {
    const { template } = build('dynamodb', { ingestBatchSize: 500, ingestBatchWindowSeconds: 5, ingestShardCount: 2 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 500, MaximumBatchingWindowInSeconds: 5 });
    template.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 2 });
  });

  it('takes the retention of raw telemetry and of each rollup resolution from context, refusing a bad one by name', () => {
    const { template } = build('dynamodb', { telemetryRetentionDays: 14, telemetryMinuteRetentionDays: 31, telemetryHourRetentionDays: 365, telemetryDayRetentionDays: 3650 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TELEMETRY_RETENTION_DAYS: '14',
          TELEMETRY_MINUTE_RETENTION_DAYS: '31',
          TELEMETRY_HOUR_RETENTION_DAYS: '365',
          TELEMETRY_DAY_RETENTION_DAYS: '3650',
        }),
      },
    });
    expect(() => build('dynamodb', { telemetryHourRetentionDays: 0 })).toThrow(/telemetryHourRetentionDays/);
  });

  it('refuses batch settings out of range, naming them', () => {
    expect(() => build('dynamodb', { ingestBatchSize: 20_000 })).toThrow(/batchSize/);
    expect(() => build('dynamodb', {}, { batchWindow: Duration.minutes(10) })).toThrow(/batchWindowSeconds/);
  });

  it('encrypts every queue and enforces TLS on it', () => {
    const { template } = build('dynamodb');
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(3);
    for (const queue of Object.values(queues)) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } },
      3,
    );
  });

  it('gives the ingest function only UpdateItem/GetItem on Devices, Query/GetItem/PutItem/DeleteItem on Alarms, chunk and rollup writes on Telemetry and SendMessage on the DLQ', () => {
    // Prepare / Act
    const { stack, storage, pipeline, template } = build('dynamodb');

    // Assess
    const statements = statementsOf(template, stack, pipeline.ingestFunction.executionRole.roleName);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).filter((a) => !/^(logs|kinesis|xray):/.test(a));
    expect(new Set(actions)).toEqual(new Set(['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']));
    const alarms = statements.find((s) => JSON.stringify(s.Resource).includes('StorageAlarms'))!;
    expect(alarms.Action).toEqual(['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']);
    expect(JSON.stringify(alarms.Resource)).not.toContain('/index/');
    const telemetry = statements.find((s) => JSON.stringify(s.Resource).includes('StorageTelemetry'))!;
    expect(telemetry.Action).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    expect(JSON.stringify(telemetry.Resource)).not.toContain('/index/');
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          TELEMETRY_STORE: 'dynamodb',
          DEVICES_TABLE_NAME: stack.resolve(storage.devicesTable.tableName),
          TELEMETRY_TABLE_NAME: stack.resolve(storage.telemetryTable!.tableName),
          DEAD_LETTER_QUEUE_URL: stack.resolve(pipeline.deadLetterQueue.queueUrl),
          POWERTOOLS_SERVICE_NAME: 'ingest',
          TELEMETRY_RETENTION_DAYS: '30',
          TELEMETRY_MINUTE_RETENTION_DAYS: '90',
          TELEMETRY_HOUR_RETENTION_DAYS: '730',
          TELEMETRY_DAY_RETENTION_DAYS: '1826',
        }),
      },
      Architectures: ['arm64'],
      MemorySize: 512,
    });
  });

  it('with Timestream, creates the database and table and grants WriteRecords on the table plus DescribeEndpoints', () => {
    // Prepare / Act
    const { stack, pipeline, template } = build('timestream');

    // Assess
    template.resourceCountIs('AWS::Timestream::Database', 1);
    template.hasResourceProperties('AWS::Timestream::Table', {
      RetentionProperties: { MemoryStoreRetentionPeriodInHours: '24', MagneticStoreRetentionPeriodInDays: '30' },
      MagneticStoreWriteProperties: { EnableMagneticStoreWrites: true },
    });
    template.hasResource('AWS::Timestream::Table', { DeletionPolicy: 'Retain' });
    const statements = statementsOf(template, stack, pipeline.ingestFunction.executionRole.roleName);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'timestream:WriteRecords', Resource: stack.resolve(pipeline.timestream!.table.attrArn) }),
        expect.objectContaining({ Action: 'timestream:DescribeEndpoints', Resource: '*' }),
      ]),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TELEMETRY_STORE: 'timestream', TIMESTREAM_TABLE_NAME: Match.anyValue(), TIMESTREAM_DATABASE_NAME: Match.anyValue() }) },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('TELEMETRY_TABLE_NAME');
  });

  it('outputs its stream, topic prefix and queues under stable stack-level names', () => {
    // Prepare / Act
    const { stack, pipeline, template } = build('dynamodb');

    // Assess
    template.hasOutput('TelemetryTopicPrefix', { Value: `$aws/rules/${TELEMETRY_RULE.ruleName}/` });
    template.hasOutput('IngestStreamName', { Value: stack.resolve(pipeline.stream.streamName) });
    template.hasOutput('IngestDeadLetterQueueUrl', { Value: stack.resolve(pipeline.deadLetterQueue.queueUrl) });
    template.hasOutput('IngestRuleErrorQueueUrl', { Value: stack.resolve(pipeline.ruleErrorQueue.queueUrl) });
    template.hasOutput('IngestFailureQueueUrl', { Value: stack.resolve(pipeline.failureQueue.queueUrl) });
    expect(Object.keys(template.toJSON().Outputs ?? {}).filter((name) => /[0-9A-F]{8}$/.test(name))).toEqual([]);
  });

  it('refuses dynamodb telemetry without a telemetry table', () => {
    const stack = testStack();
    const storage = new Storage(stack, 'Storage', { telemetryTable: false });
    expect(() => new IngestPipeline(stack, 'Ingest', { storage, telemetryStore: 'dynamodb' })).toThrow(/telemetry table/);
  });

  it.each(['dynamodb', 'timestream'] as const)('leaves no cdk-nag finding unacknowledged on its resources (%s)', (store) => {
    // Prepare
    const { stack } = build(store);

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    const mine = report.violations.flatMap((v) => v.violatingResources.filter((r) => r.constructPath?.includes('/Ingest/')).map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(mine).toEqual([]);
  });
});

describe('the real ingest and presence bundles', () => {
  let outdir: string | undefined;
  afterEach(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('load as ES modules on this Node, read their configuration and handle an empty batch', () => {
    // Prepare
    process.env.CDK_VALIDATION = 'false';
    outdir = mkdtempSync(join(tmpdir(), 'ingest-'));
    const app = new App({ outdir });
    const stack = new CdkStack(app, 'BundleStack');
    const pipeline = new IngestPipeline(stack, 'Ingest', { storage: new Storage(stack, 'Storage'), telemetryStore: 'dynamodb' });
    const assembly = app.synth().getStackByName('BundleStack');
    const assetOf = (fn: { node: { defaultChild?: unknown } }) => {
      const resource = (assembly.template.Resources as Record<string, { Properties: { Code: { S3Key: string } } }>)[
        stack.getLogicalId(fn.node.defaultChild as CfnElement)
      ]!;
      // The asset directory is named after the hash that also names the uploaded zip.
      return pathToFileURL(join(outdir!, `asset.${resource.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs')).href;
    };
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      DEVICES_TABLE_NAME: 'Devices',
      TELEMETRY_STORE: 'dynamodb',
      TELEMETRY_TABLE_NAME: 'Telemetry',
      DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/dlq',
    };

    // What the Lambda runtime passes as the handler's second argument (JSON-safe fields only).
    const CONTEXT = { functionName: 'ingest', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ingest', memoryLimitInMB: '512', awsRequestId: 'bundle-test' };

    // Act: separate processes, so each bundle's module scope runs as in a cold start.
    const ingest = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(assetOf(pipeline.ingestFunction))}); console.log(JSON.stringify(await m.handler({ Records: [] }, ${JSON.stringify(CONTEXT)})));`],
      { env, encoding: 'utf8' },
    );
    const presence = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(assetOf(pipeline.presenceFunction))}); console.log(typeof m.handler);`],
      { env, encoding: 'utf8' },
    );

    // Assess
    expect(ingest.trim().split('\n').at(-1)).toBe('{"batchItemFailures":[]}');
    expect(presence.trim().split('\n').at(-1)).toBe('function');
  });
});

describe('IngestPipeline.grantTelemetryRead', () => {
  it.each(['dynamodb', 'timestream'] as const)('lets a reader query the %s store it writes, and names it', (store) => {
    // Prepare
    const stack = testStack();
    const storage = new Storage(stack, 'Storage', { telemetryTable: store === 'dynamodb' });
    const pipeline = new IngestPipeline(stack, 'Ingest', { storage, telemetryStore: store });
    const reader = new PlatformFunction(stack, 'Reader', { entry: FIXTURE_HANDLER, serviceName: 'reader' });

    // Act
    pipeline.grantTelemetryRead({ scope: reader, role: reader.executionRole, addEnvironment: (key, value) => reader.addEnvironment(key, value) });

    // Assess
    const template = Template.fromStack(stack);
    const statements = statementsOf(template, stack, reader.executionRole.roleName);
    if (store === 'dynamodb') {
      expect(statements).toContainEqual(expect.objectContaining({ Action: ['dynamodb:Query', 'dynamodb:GetItem'], Resource: stack.resolve(storage.telemetryTable!.tableArn) }));
    } else {
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'timestream:Select', Resource: stack.resolve(pipeline.timestream!.table.attrArn) }));
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'timestream:DescribeEndpoints', Resource: '*' }));
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'reader', TELEMETRY_STORE: store }) },
    });
    const mine = new AwsSolutionsChecks().validateScope(stack).violations.flatMap((v) => v.violatingResources.filter((r) => r.constructPath?.includes('/Reader')).map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(mine).toEqual([]);
  });
});
