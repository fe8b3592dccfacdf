import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LAMBDA_FUNCTIONS } from '../../src/contracts/lambda-functions.js';
import { PlatformFunction } from '../../lib/platform-function.js';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { addComplianceChecks, PlatformStack, telemetryStoreFromContext } from '../../lib/platform-stack.js';
import { buildPlatformStack, testApp } from './stack-helper.js';

describe('PlatformStack', () => {
  it('deploys exactly the functions of LAMBDA_FUNCTIONS, each from its entry and with its service name', () => {
    // Prepare / Act
    const { stack } = buildPlatformStack();

    // Assess
    const deployed = stack.node.findAll().filter((c): c is PlatformFunction => c instanceof PlatformFunction);
    const key = (f: { serviceName: string; entry: string }) => `${f.serviceName} ${f.entry}`;
    expect(deployed.map(key).sort()).toEqual(Object.values(LAMBDA_FUNCTIONS).map(key).sort());
    // And no other Lambda function but CDK's own custom-resource providers.
    const functions = Object.keys(stack.resolve(Template.fromStack(stack).findResources('AWS::Lambda::Function')) as object);
    const platform = new Set(deployed.map((f) => stack.getLogicalId(f.node.defaultChild as never)));
    expect(functions.filter((id) => !platform.has(id) && !/Provider|CustomResource|CustomCDK|AWS[0-9a-f]{32}/.test(id))).toEqual([]);
  });

  it('is environment-agnostic', () => {
    // Prepare / Act
    const { stack } = buildPlatformStack();

    // Assess
    expect(stack.environment).toBe('aws://unknown-account/unknown-region');
  });

  it('stores telemetry in DynamoDB by default', () => {
    // Prepare / Act
    const { stack, template } = buildPlatformStack();

    // Assess
    expect(stack.telemetryStore).toBe('dynamodb');
    template.resourceCountIs('AWS::DynamoDB::Table', 6);
    template.hasOutput('TelemetryTableName', { Value: stack.resolve(stack.storage.telemetryTable!.tableName) });
  });

  it('has no Telemetry table with -c telemetryStore=timestream', () => {
    // Prepare / Act
    const { stack, template } = buildPlatformStack({ context: { telemetryStore: 'timestream' } });

    // Assess
    expect(stack.telemetryStore).toBe('timestream');
    template.resourceCountIs('AWS::DynamoDB::Table', 5);
    expect(template.findOutputs('TelemetryTableName')).toEqual({});
  });

  it.each([['dynamo'], ['TIMESTREAM'], [''], [42]])('rejects telemetryStore=%j naming the flag', (value) => {
    // Prepare
    const app = testApp({ telemetryStore: value });

    // Act / Assess
    expect(() => telemetryStoreFromContext(app)).toThrow(/telemetryStore.*-c telemetryStore=dynamodb or -c telemetryStore=timestream/);
    expect(() => new PlatformStack(app, 'Bad')).toThrow(/Invalid context flag telemetryStore/);
  });

  it('outputs the table names and the change-feed DLQ', () => {
    // Prepare / Act
    const { stack, template } = buildPlatformStack();

    // Assess
    template.hasOutput('DevicesTableName', { Value: stack.resolve(stack.storage.devicesTable.tableName) });
    template.hasOutput('StatsTableName', { Value: stack.resolve(stack.storage.statsTable.tableName) });
    template.hasOutput('ChangeFeedDeadLetterQueueUrl', { Value: stack.resolve(stack.changeFeed.deadLetterQueue.queueUrl) });
  });

  it('outputs every door operators and callers need', () => {
    // Prepare / Act
    const { template } = buildPlatformStack();

    // Assess
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    expect(outputs).toEqual(
      expect.arrayContaining(['GrpcEndpoint', 'DevicePolicyName', expect.stringMatching(/GraphqlUrl/), expect.stringMatching(/UserPoolId/)]),
    );
  });

  it('feeds the Devices stream to the events function', () => {
    // Prepare / Act
    const { stack, template } = buildPlatformStack();

    // Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: stack.resolve(stack.storage.devicesTable.tableStreamArn),
      FunctionName: stack.resolve(stack.changeFeed.fn.functionName),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });
});

describe('cdk-nag AwsSolutions gate', () => {
  it('finds nothing unacknowledged in the platform stack', () => {
    // Prepare
    const { stack } = buildPlatformStack();

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('finds nothing unacknowledged with the Timestream telemetry store either', () => {
    // Prepare
    const { stack } = buildPlatformStack({ context: { telemetryStore: 'timestream' } });

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(report.violations).toEqual([]);
  });

  it('acknowledges findings one by one, on resources below the stack, each with a reason', () => {
    // Prepare
    const { stack } = buildPlatformStack();

    // Act
    const acknowledgements = stack.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ path: construct.node.path, id, reason }))),
      );

    // Assess
    // CDK itself acknowledges template-validator warnings it knows its own VPC construct
    // triggers (CloudFormation-Validate::W3010); those are not cdk-nag acknowledgements.
    const nag = acknowledgements.filter(({ id }) => !id.startsWith('CloudFormation-Validate::'));
    expect(nag.length).toBeGreaterThan(0);
    for (const { path, id, reason } of nag) {
      expect(path.split('/').length, `${id} on ${path}`).toBeGreaterThan(2);
      expect(id).toMatch(/^(Annotation::)?AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(reason.length, `${id} on ${path}`).toBeGreaterThan(40);
    }
  });

  it('reports a non-compliant resource added to the stack', () => {
    // Prepare
    const { stack } = buildPlatformStack();
    new Queue(stack, 'BareQueue');

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    const rules = report.violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
    expect(report.violations.flatMap((v) => v.violatingResources.map((r) => r.constructPath))).toContain('IotPlatform/BareQueue/Resource');
    expect(report.success).toBe(false);
  });

  it('fails the synth of an app with an unacknowledged finding', () => {
    // Prepare
    const app = testApp();
    const stack = new PlatformStack(app, 'IotPlatform');
    new Queue(stack, 'BareQueue');
    addComplianceChecks(app);

    // Act / Assess
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});
