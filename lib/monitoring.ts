import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IGraphqlApi } from 'aws-cdk-lib/aws-appsync';
import type { FargateService } from 'aws-cdk-lib/aws-ecs';
import type { INetworkLoadBalancer, INetworkTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CHANGE_FEED_METRICS,
  GRPC_METRICS,
  INGEST_METRICS,
  METRICS_NAMESPACE,
  PRESENCE_RECONCILER_METRICS,
  COMMAND_SWEEP_METRICS,
  RESOLVER_METRICS,
  SERVICE_DIMENSION,
  SERVICE_NAMES,
} from '../src/contracts/metrics.js';
import { DEFAULT_PRESENCE_CORRECTIONS_THRESHOLD, PRESENCE_CORRECTIONS_CONTEXT } from '../src/contracts/presence-reconcile.js';
import { integerContextFlag } from './context-flags.js';

/** A queue whose every message means something needs a person (a dead-letter, failure or rule-error queue). */
export interface WatchedQueue {
  /** Construct id of its alarm, also the runbook section that explains it. */
  readonly id: string;
  readonly queue: IQueue;
}

/** A Lambda event-source mapping on a stream, watched by its function's IteratorAge. */
export interface WatchedStreamConsumer {
  readonly id: string;
  readonly fn: IFunction;
  /** Oldest record age that still counts as keeping up. */
  readonly maxIteratorAge: Duration;
}

/** The gRPC service as the alarms see it: the load balancer's healthy targets against the service's desired tasks. */
export interface WatchedGrpcService {
  readonly service: FargateService;
  readonly loadBalancer: INetworkLoadBalancer;
  readonly targetGroup: INetworkTargetGroup;
  /** The fewest tasks the service runs (its autoscaling minimum): the fallback when Container Insights reports nothing. */
  readonly minTasks: number;
  /** Where the service writes one JSON line per call. */
  readonly logGroup: ILogGroup;
}

/** Props of {@link Monitoring}. */
export interface MonitoringProps {
  readonly queues: readonly WatchedQueue[];
  /** Every function of the platform: each gets an errors and a throttles alarm. */
  readonly functions: readonly IFunction[];
  /**
   * Functions whose errors mean something specific, with the runbook section saying what to do.
   * @default - every errors alarm points at FunctionErrors
   */
  readonly errorRunbookSections?: ReadonlyMap<IFunction, string>;
  readonly streamConsumers: readonly WatchedStreamConsumer[];
  readonly graphqlApi: IGraphqlApi;
  readonly grpc: WatchedGrpcService;
  /**
   * The presence reconciler, alarmed when it corrects more devices in one run than the
   * threshold (context `presenceCorrectionsAlarmThreshold`, default 20).
   * @default - no reconciler alarm
   */
  readonly presenceReconciler?: { readonly interval: Duration; readonly correctionsThreshold?: number };
  /**
   * An address subscribed to the alarm topic (it must confirm the subscription).
   * @default - the context flag `alarmEmail`, else no subscription
   */
  readonly alarmEmail?: string;
}

/** Per alarm, what the runbook (docs/runbook.md) calls it; the alarm description points there. */
const RUNBOOK = 'docs/runbook.md';

/**
 * Alarms and the dashboard of the platform: every dead-letter, failure and rule-error queue,
 * the iterator age of every stream mapping, the errors and throttles of every function, the
 * resolver's unexpected errors and the gRPC service's healthy targets, all on one SNS topic
 * (output `AlarmTopicArn`; `-c alarmEmail=` subscribes an address). Holds no runtime logic:
 * the metric names come from src/contracts/metrics.ts, which the functions emit.
 */
export class Monitoring extends Construct {
  /** Every alarm goes here (OK transitions too, so a page can be closed). */
  public readonly topic: Topic;
  public readonly dashboard: Dashboard;
  /** Alarms by construct id, for tests and for anyone adding actions. */
  public readonly alarms: ReadonlyMap<string, Alarm>;
  private readonly byId = new Map<string, Alarm>();

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key: it needs a
    // customer managed key whose policy lets CloudWatch use it ($1 a month).
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts the alarm topic of the IoT platform',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true, displayName: 'IoT platform alarms' });
    const email = props.alarmEmail ?? alarmEmailFromContext(this);
    if (email) this.topic.addSubscription(new EmailSubscription(email));
    new CfnOutput(stack, 'AlarmTopicArn', { value: this.topic.topicArn, description: 'Every alarm of the platform notifies this SNS topic' });

    for (const { id: queueId, queue } of props.queues) {
      this.alarm(queueId, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        evaluationPeriods: 1,
        what: `a message is waiting in ${queueId}`,
      });
    }
    for (const consumer of props.streamConsumers) {
      this.alarm(consumer.id, {
        metric: consumer.fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: consumer.maxIteratorAge.toMilliseconds(),
        evaluationPeriods: 5,
        what: `the oldest record waits longer than ${consumer.maxIteratorAge.toHumanString()}`,
      });
    }
    for (const fn of props.functions) {
      const name = constructName(fn);
      this.alarm(`${name}Errors`, {
        metric: fn.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 1,
        what: `an invocation of ${fn.node.id} failed`,
        runbookSection: props.errorRunbookSections?.get(fn) ?? 'FunctionErrors',
      });
      this.alarm(`${name}Throttles`, {
        metric: fn.metricThrottles({ period: Duration.minutes(1), statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 1,
        what: `an invocation of ${fn.node.id} was throttled`,
        runbookSection: 'FunctionThrottles',
      });
    }
    this.alarm('ResolverUnexpectedErrors', {
      metric: serviceMetric(SERVICE_NAMES.graphql, RESOLVER_METRICS.unexpectedErrors, 'Sum'),
      threshold: 0,
      evaluationPeriods: 1,
      what: 'a GraphQL field failed with an unexpected (InternalFailure) error',
    });

    this.alarm('CommandDeliveriesGivenUp', {
      metric: serviceMetric(SERVICE_NAMES.commandTimeouts, COMMAND_SWEEP_METRICS.gaveUp, 'Sum'),
      threshold: 0,
      evaluationPeriods: 1,
      what: 'the command sweep set a command FAILED because every publish of it to its ONLINE device failed',
    });

    if (props.presenceReconciler) {
      const threshold =
        props.presenceReconciler.correctionsThreshold ??
        integerContextFlag(this, PRESENCE_CORRECTIONS_CONTEXT, DEFAULT_PRESENCE_CORRECTIONS_THRESHOLD, { min: 0, max: 1_000_000 }) ?? DEFAULT_PRESENCE_CORRECTIONS_THRESHOLD;
      this.alarm('PresenceCorrections', {
        // One datapoint per run: the period is the interval, so each run is judged alone.
        metric: serviceMetric(SERVICE_NAMES.presenceReconciler, PRESENCE_RECONCILER_METRICS.corrections, 'Sum', undefined, props.presenceReconciler.interval),
        threshold,
        evaluationPeriods: 1,
        what: `the presence reconciler set more than ${threshold} devices OFFLINE in one run: lifecycle events are being lost`,
      });
    }

    // Healthy targets below what the service wants to run, for 3 minutes in a row (a task
    // replaced during a deployment or scale-out is unhealthy for ~30 s at most).
    const healthy = props.grpc.targetGroup.metrics.healthyHostCount({ period: Duration.minutes(1), statistic: 'Minimum' });
    const desired = new Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'DesiredTaskCount',
      dimensionsMap: { ClusterName: props.grpc.service.cluster.clusterName, ServiceName: props.grpc.service.serviceName },
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    this.alarm('GrpcUnhealthyTargets', {
      metric: new MathExpression({
        expression: `FILL(desired, ${props.grpc.minTasks}) - FILL(healthy, 0)`,
        usingMetrics: { desired, healthy },
        label: 'desired tasks - healthy targets',
        period: Duration.minutes(1),
      }),
      threshold: 0,
      evaluationPeriods: 3,
      what: 'the gRPC load balancer has fewer healthy targets than the service has desired tasks',
    });

    // gRPC calls come from the service's log: one JSON line with msg "rpc" per call.
    new MetricFilter(this, 'GrpcCallsFilter', {
      logGroup: props.grpc.logGroup,
      filterPattern: FilterPattern.stringValue('$.msg', '=', 'rpc'),
      metricNamespace: METRICS_NAMESPACE,
      metricName: GRPC_METRICS.calls,
      metricValue: '1',
      defaultValue: 0,
    });
    new MetricFilter(this, 'GrpcInternalErrorsFilter', {
      logGroup: props.grpc.logGroup,
      filterPattern: FilterPattern.all(FilterPattern.stringValue('$.msg', '=', 'rpc'), FilterPattern.stringValue('$.code', '=', 'INTERNAL')),
      metricNamespace: METRICS_NAMESPACE,
      metricName: GRPC_METRICS.internalErrors,
      metricValue: '1',
      defaultValue: 0,
    });

    this.alarms = this.byId;
    this.dashboard = this.buildDashboard(props, healthy);
  }

  private alarm(
    id: string,
    spec: { metric: IMetric; threshold: number; evaluationPeriods: number; what: string; runbookSection?: string },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.evaluationPeriods,
      // No data means nothing happened (no messages, no invocations): not an alarm.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `${spec.what}. What to do: ${RUNBOOK}#${(spec.runbookSection ?? id).toLowerCase()}`,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.byId.set(id, alarm);
    return alarm;
  }

  private buildDashboard(props: MonitoringProps, healthy: IMetric): Dashboard {
    const ingest = (name: string, label: string) => serviceMetric(SERVICE_NAMES.ingest, name, 'Sum', label);
    const changes = (name: string, label: string) => serviceMetric(SERVICE_NAMES.changeFeed, name, 'Sum', label);
    const resolver = (name: string, label: string) => serviceMetric(SERVICE_NAMES.graphql, name, 'Sum', label);
    const grpc = (name: string, label: string) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName: name, statistic: 'Sum', period: Duration.minutes(5), label });
    const appsync = (name: string, statistic: string, label: string) =>
      new Metric({
        namespace: 'AWS/AppSync',
        metricName: name,
        dimensionsMap: { GraphQLAPIId: props.graphqlApi.apiId },
        statistic,
        period: Duration.minutes(5),
        label,
      });
    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      new TextWidget({ markdown: `# IoT platform\nEvery alarm notifies the AlarmTopicArn topic; what each means and how to fix it: ${RUNBOOK}.`, width: 24, height: 2 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Telemetry: messages in, stored, dead-lettered',
        left: [
          ingest(INGEST_METRICS.received, 'messages in'),
          ingest(INGEST_METRICS.stored, 'stored'),
          ingest(INGEST_METRICS.deadLettered, 'dead-lettered'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Batch failures (records retried)',
        left: [ingest(INGEST_METRICS.failed, 'ingest records failed'), changes(CHANGE_FEED_METRICS.batchItemFailures, 'change-feed records failed')],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Iterator age (ms)',
        left: props.streamConsumers.map((c) => c.fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1), label: c.id })),
        width: 12,
      }),
      new GraphWidget({
        title: 'Change feed fan-out (changes published)',
        left: [changes(CHANGE_FEED_METRICS.records, 'changes')],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'GraphQL latency (ms)',
        left: [appsync('Latency', 'p50', 'p50'), appsync('Latency', 'p99', 'p99')],
        width: 12,
      }),
      new GraphWidget({
        title: 'GraphQL errors',
        left: [
          resolver(RESOLVER_METRICS.errors, 'field errors'),
          resolver(RESOLVER_METRICS.unexpectedErrors, 'unexpected errors'),
          appsync('5XXError', 'Sum', 'AppSync 5XX'),
        ],
        width: 12,
      }),
    );
    if (props.presenceReconciler) {
      const reconciler = (name: string, label: string) => serviceMetric(SERVICE_NAMES.presenceReconciler, name, 'Sum', label, props.presenceReconciler!.interval);
      dashboard.addWidgets(
        new GraphWidget({
          title: 'Presence reconciler: ONLINE devices checked, set OFFLINE',
          left: [reconciler(PRESENCE_RECONCILER_METRICS.checked, 'checked')],
          right: [reconciler(PRESENCE_RECONCILER_METRICS.corrections, 'corrected')],
          width: 24,
        }),
      );
    }
    dashboard.addWidgets(
      new GraphWidget({
        title: 'gRPC calls',
        left: [grpc(GRPC_METRICS.calls, 'calls'), grpc(GRPC_METRICS.internalErrors, 'INTERNAL errors')],
        right: [healthy],
        width: 12,
      }),
      new GraphWidget({
        title: 'Functions: errors and throttles',
        left: props.functions.map((fn) => fn.metricErrors({ period: Duration.minutes(5), label: `${fn.node.id} errors` })),
        right: props.functions.map((fn) => fn.metricThrottles({ period: Duration.minutes(5), label: `${fn.node.id} throttles` })),
        width: 12,
      }),
    );
    return dashboard;
  }
}

/** A Powertools metric of one function (namespace IotPlatform, dimension service). */
function serviceMetric(service: string, metricName: string, statistic: string, label?: string, period: Duration = Duration.minutes(1)): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: service },
    statistic,
    period,
    ...(label && { label }),
  });
}

/** A construct's path below its stack without separators (IngestPipelineIngestFunction): unique, stable and readable. */
function constructName(construct: Construct): string {
  const stackPath = Stack.of(construct).node.path;
  return construct.node.path.slice(stackPath.length).replace(/[^A-Za-z0-9]/g, '');
}

/** The `alarmEmail` context flag: an address, or undefined; anything that is not one stops the synth naming the flag. */
export function alarmEmailFromContext(scope: Construct): string | undefined {
  const value: unknown = scope.node.tryGetContext('alarmEmail');
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
    throw new Error(`Invalid context flag alarmEmail=${JSON.stringify(value)}: use -c alarmEmail=ops@example.com`);
  }
  return value;
}
