import { readFileSync } from 'node:fs';
import type { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { alarmEmailFromContext } from '../../lib/monitoring.js';
import type { PlatformStack } from '../../lib/platform-stack.js';
import { METRICS_NAMESPACE, PRESENCE_RECONCILER_METRICS, RESOLVER_METRICS } from '../../src/contracts/metrics.js';
import { buildPlatformStack, testApp } from './stack-helper.js';

type Resource = { Properties: Record<string, unknown> };

/** The alarm whose construct id is `id`, from the template. */
function alarmProps(stack: PlatformStack, template: Template, id: string): Record<string, unknown> {
  const alarm = stack.monitoring.alarms.get(id);
  if (!alarm) throw new Error(`no alarm ${id}; have ${[...stack.monitoring.alarms.keys()].join(', ')}`);
  const logicalId = stack.getLogicalId(alarm.node.defaultChild as never);
  return (template.findResources('AWS::CloudWatch::Alarm')[logicalId] as Resource).Properties;
}

function topicRef(stack: Stack, platform: PlatformStack): unknown {
  return stack.resolve(platform.monitoring.topic.topicArn);
}

function expectNotifiesTopic(stack: PlatformStack, props: Record<string, unknown>): void {
  expect(props.AlarmActions).toEqual([topicRef(stack, stack)]);
  expect(props.OKActions).toEqual([topicRef(stack, stack)]);
}

describe('Monitoring', () => {
  const { stack, template } = buildPlatformStack();

  it.each([
    ['IngestDeadLetters', () => stack.node.findChild('IngestPipeline').node.findChild('DeadLetterQueue')],
    ['IngestRuleErrors', () => stack.node.findChild('IngestPipeline').node.findChild('RuleErrorQueue')],
    ['IngestFailures', () => stack.node.findChild('IngestPipeline').node.findChild('FailureQueue')],
    ['ChangeFeedFailures', () => stack.changeFeed.deadLetterQueue],
  ])('alarms on any visible message in %s', (id, queue) => {
    // Prepare
    const queueId = stack.getLogicalId(queue().node.defaultChild as never);

    // Act
    const props = alarmProps(stack, template, id);

    // Assess
    expect(props).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expectNotifiesTopic(stack, props);
  });

  it.each([
    ['IngestIteratorAge', 'IngestPipeline/IngestFunction', 600_000],
    ['ChangeFeedIteratorAge', 'ChangeFeed/EventsFunction', 300_000],
  ])('alarms when the %s mapping falls behind', (id, path, threshold) => {
    // Prepare
    const fn = stack.node.findChild(path.split('/')[0]!).node.findChild(path.split('/')[1]!);

    // Act
    const props = alarmProps(stack, template, id);

    // Assess
    expect(props).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve((fn as unknown as { functionName: string }).functionName) }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: threshold,
      EvaluationPeriods: 5,
    });
    expectNotifiesTopic(stack, props);
  });

  it('alarms on errors and throttles of every function of the platform', () => {
    // Prepare
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThanOrEqual(4);

    for (const [logicalId] of functions) {
      for (const metricName of ['Errors', 'Throttles']) {
        // Act
        const alarms = Object.values(
          template.findResources('AWS::CloudWatch::Alarm', {
            Properties: { MetricName: metricName, Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }] },
          }),
        ) as Resource[];

        // Assess
        expect(alarms, `${metricName} alarm of ${logicalId}`).toHaveLength(1);
        expect(alarms[0]!.Properties).toMatchObject({
          Namespace: 'AWS/Lambda',
          Statistic: 'Sum',
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          EvaluationPeriods: 1,
        });
        expectNotifiesTopic(stack, alarms[0]!.Properties);
      }
    }
  });

  it("alarms on the resolver's unexpected-error metric", () => {
    // Act
    const props = alarmProps(stack, template, 'ResolverUnexpectedErrors');

    // Assess
    expect(props).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: RESOLVER_METRICS.unexpectedErrors,
      Dimensions: [{ Name: 'service', Value: 'graphql' }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expectNotifiesTopic(stack, props);
  });

  it('alarms when the presence reconciler corrects more devices in one run than the threshold, by context', () => {
    // Prepare
    const raised = buildPlatformStack({ context: { presenceCorrectionsAlarmThreshold: '5', presenceReconcileMinutes: '2' } });

    // Act
    const props = alarmProps(stack, template, 'PresenceCorrections');
    const raisedProps = alarmProps(raised.stack, raised.template, 'PresenceCorrections');

    // Assess
    expect(props).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: PRESENCE_RECONCILER_METRICS.corrections,
      Dimensions: [{ Name: 'service', Value: 'presence-reconciler' }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 20,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expectNotifiesTopic(stack, props);
    expect(raisedProps).toMatchObject({ Threshold: 5, Period: 120 });
  });

  it('alarms when the gRPC service has fewer healthy targets than desired tasks for 3 minutes', () => {
    // Act
    const props = alarmProps(stack, template, 'GrpcUnhealthyTargets');

    // Assess
    const metrics = props.Metrics as Array<Record<string, any>>;
    const expression = metrics.find((m) => m.Expression)!;
    expect(expression.Expression).toBe('FILL(desired, 2) - FILL(healthy, 0)');
    const healthy = metrics.find((m) => m.Id === 'healthy')!.MetricStat;
    expect(healthy).toMatchObject({ Metric: { Namespace: 'AWS/NetworkELB', MetricName: 'HealthyHostCount' }, Stat: 'Minimum' });
    expect(healthy.Metric.Dimensions.map((d: { Name: string }) => d.Name).sort()).toEqual(['LoadBalancer', 'TargetGroup']);
    const desired = metrics.find((m) => m.Id === 'desired')!.MetricStat;
    expect(desired).toMatchObject({ Metric: { Namespace: 'ECS/ContainerInsights', MetricName: 'DesiredTaskCount' }, Stat: 'Maximum' });
    expect(props).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    expectNotifiesTopic(stack, props);
  });

  it('points every alarm at its section of the runbook', () => {
    // Prepare
    const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
    const anchors = new Set([...runbook.matchAll(/^#+ (.+)$/gm)].map(([, title]) => title!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];

    // Act / Assess
    expect(alarms.length).toBeGreaterThan(10);
    for (const alarm of alarms) {
      const [, anchor] = /docs\/runbook\.md#(\S+)$/.exec(String(alarm.Properties.AlarmDescription)) ?? [];
      expect(anchors, String(alarm.Properties.AlarmDescription)).toContain(anchor);
    }
  });

  it('sends alarms to one encrypted topic, output as AlarmTopicArn', () => {
    // Assess: the other topic is the alarm-rule notifications topic (lib/alarms.ts)
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'IoT platform alarms', KmsMasterKeyId: Match.anyValue() });
    template.hasOutput('AlarmTopicArn', { Value: topicRef(stack, stack) });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('lets CloudWatch use the topic key', () => {
    // Assess
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('subscribes -c alarmEmail to the topic', () => {
    // Act
    const { stack: withEmail, template: emailTemplate } = buildPlatformStack({ context: { alarmEmail: 'ops@example.com' } });

    // Assess
    emailTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: topicRef(withEmail, withEmail),
    });
  });

  it.each([['not-an-address'], [42], ['a b@example.com']])('rejects alarmEmail=%j naming the flag', (value) => {
    // Act / Assess
    expect(() => alarmEmailFromContext(testApp({ alarmEmail: value }))).toThrow(/Invalid context flag alarmEmail.*-c alarmEmail=/);
  });

  it('counts gRPC calls from the service log', () => {
    // Assess
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.msg = "rpc" }',
      MetricTransformations: [Match.objectLike({ MetricNamespace: METRICS_NAMESPACE, MetricName: 'GrpcCalls', MetricValue: '1' })],
    });
  });

  it('draws a dashboard of the figures operators watch', () => {
    // Prepare
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    expect(dashboards).toHaveLength(1);

    // Act
    const body = JSON.stringify(stack.resolve(dashboards[0]!.Properties.DashboardBody));

    // Assess
    for (const figure of [
      'RecordsReceived',
      'PointsStored',
      'RecordsDeadLettered',
      'RecordsFailed',
      'ChangeBatchItemFailures',
      'IteratorAge',
      'ChangeRecords',
      'Latency',
      'ResolverErrors',
      'GrpcCalls',
    ]) {
      expect(body, figure).toContain(figure);
    }
  });

  it('adds no unacknowledged cdk-nag finding', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack.monitoring);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
