import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeFeed, liveTelemetryUpdatesFromContext } from '../../lib/change-feed.js';
import { PlatformStack } from '../../lib/platform-stack.js';
import { Storage } from '../../lib/storage.js';
import { buildPlatformStack, FIXTURE_HANDLER, testApp, testStack } from './stack-helper.js';

function build(props: Partial<ConstructorParameters<typeof ChangeFeed>[2]> = {}) {
  const stack = testStack();
  const storage = new Storage(stack, 'Storage');
  const feed = new ChangeFeed(stack, 'ChangeFeed', { storage, entry: FIXTURE_HANDLER, ...props });
  return { stack, storage, feed, template: Template.fromStack(stack) };
}

describe('ChangeFeed', () => {
  it('reads the Devices (and Commands) stream with partial batch failures, bisection, bounded retries and an SQS DLQ', () => {
    // Prepare / Act
    const { stack, storage, feed, template } = build();

    // Assess
    // The Devices stream and the Commands stream, with the same settings.
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: stack.resolve(storage.devicesTable.tableStreamArn),
      FunctionName: stack.resolve(feed.fn.functionName),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 6 * 3600,
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: stack.resolve(feed.deadLetterQueue.queueArn) } },
    });
  });

  it('takes the stream settings from its props', () => {
    // Prepare / Act
    const { template } = build({ batchSize: 10, retryAttempts: 2, maxRecordAge: Duration.hours(1), parallelizationFactor: 2 });

    // Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 2,
    });
  });

  it('keeps an encrypted, TLS-only, retained dead-letter queue', () => {
    // Prepare / Act
    const { stack, feed, template } = build();

    // Assess
    template.hasResource('AWS::SQS::Queue', {
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [stack.resolve(feed.deadLetterQueue.queueUrl)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('runs the events function on the platform function settings and names the Stats table', () => {
    // Prepare / Act
    const { stack, storage, template } = build();

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'change-feed', STATS_TABLE_NAME: stack.resolve(storage.statsTable.tableName) }),
      },
    });
  });

  it('may write the Stats table and the DLQ but never write the Devices table', () => {
    // Prepare / Act
    const { stack, storage, feed, template } = build();

    // Assess
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const on = (resource: unknown) => statements.filter((s) => JSON.stringify(s.Resource).includes(JSON.stringify(stack.resolve(resource))));
    const actions = (resource: unknown) => on(resource).flatMap((s) => [s.Action].flat());
    expect(actions(storage.statsTable.tableArn)).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:GetItem']));
    expect(actions(feed.deadLetterQueue.queueArn)).toContain('sqs:SendMessage');
    expect(actions(storage.devicesTable.tableArn).filter((a) => /Put|Update|Delete|Write/.test(a))).toEqual([]);
    expect(actions(storage.devicesTable.tableStreamArn)).toEqual(expect.arrayContaining(['dynamodb:GetRecords', 'dynamodb:GetShardIterator']));
  });

  it('fans out telemetry-only changes by default and not with liveTelemetryUpdates false', () => {
    // Prepare / Act
    const on = build().template;
    const off = build({ liveTelemetryUpdates: false }).template;

    // Assess
    on.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'change-feed', PUBLISH_TELEMETRY_CHANGES: 'true' }) },
    });
    off.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'change-feed', PUBLISH_TELEMETRY_CHANGES: 'false' }) },
    });
  });

  it.each([
    [undefined, 'true'],
    [true, 'true'],
    ['true', 'true'],
    [false, 'false'],
    ['false', 'false'],
  ])('turns -c liveTelemetryUpdates=%j into PUBLISH_TELEMETRY_CHANGES=%s on the stack\'s events function', (value, expected) => {
    // Prepare / Act
    const { template } = buildPlatformStack({ context: value === undefined ? {} : { liveTelemetryUpdates: value } });

    // Assess
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'change-feed' } } } }));
    expect(fn?.Properties.Environment.Variables.PUBLISH_TELEMETRY_CHANGES).toBe(expected);
  });

  it.each([['no'], ['False'], [0], ['']])('rejects liveTelemetryUpdates=%j naming the flag', (value) => {
    // Prepare
    const app = testApp({ liveTelemetryUpdates: value });

    // Act / Assess
    expect(() => liveTelemetryUpdatesFromContext(app)).toThrow(/liveTelemetryUpdates.*-c liveTelemetryUpdates=true or -c liveTelemetryUpdates=false/);
    expect(() => new PlatformStack(app, 'Bad')).toThrow(/Invalid context flag liveTelemetryUpdates/);
  });

  describe('the real events handler bundle', () => {
    let outdir: string | undefined;
    afterEach(() => {
      if (outdir) rmSync(outdir, { recursive: true, force: true });
    });

    it('loads as an ES module on this Node and exports the handler', () => {
      // Prepare
      process.env.CDK_VALIDATION = 'false';
      outdir = mkdtempSync(join(tmpdir(), 'change-feed-'));
      const app = new App({ outdir });
      const stack = new Stack(app, 'BundleStack');
      new ChangeFeed(stack, 'ChangeFeed', { storage: new Storage(stack, 'Storage') });
      app.synth();
      const assetDir = readdirSync(outdir).find((name) => name.startsWith('asset.'))!;
      const bundle = pathToFileURL(join(outdir, assetDir, 'index.mjs')).href;

      // Act: a separate process, so the bundle's module scope runs as in a cold start.
      const output = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundle)}); console.log(typeof m.handler);`],
        { env: { PATH: process.env.PATH, STATS_TABLE_NAME: 'Stats', AWS_REGION: 'us-east-1', POWERTOOLS_SERVICE_NAME: 'change-feed' }, encoding: 'utf8' },
      );

      // Assess
      expect(output.trim().split('\n').at(-1)).toBe('function');
    });
  });
});
