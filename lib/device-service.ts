import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Arn, ArnFormat, type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  IpAddresses,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
  Protocol as EcsProtocol,
} from 'aws-cdk-lib/aws-ecs';
import { AlpnPolicy, ListenerCertificate, NetworkLoadBalancer, type NetworkTargetGroup, Protocol, SslPolicy } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { IUserPool } from 'aws-cdk-lib/aws-cognito';
import { type IRole, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { TelemetryReadGrant } from './api.js';
import { DEVICE_SERVICE_CLIENT_ID_PREFIX } from '../src/contracts/client-ids.js';
import { DEFAULT_GRPC_PORT, DESCRIBE_IOT_ENDPOINT, DEVICE_SERVICE_VARIABLES } from '../src/contracts/environment/device-service.js';
import { VARIABLES } from '../src/contracts/environment/variables.js';
import { ALARM_TOPIC_FILTER, CHANGE_TOPIC_FILTER, COMMAND_CHANGE_TOPIC_FILTER, alarmTopic, changeTopic, commandChangeTopic, commandTopic, twinDeltaTopic } from '../src/contracts/topics.js';
import { ALARMS_TABLE, COMMANDS_TABLE, TWINS_TABLE } from '../src/contracts/tables.js';
import type { Storage } from './storage.js';

/** Port of the gRPC service, on the container and on the load balancer. */
export const GRPC_PORT = DEFAULT_GRPC_PORT;
/** The VPC CIDR used when the construct creates the VPC. */
export const DEFAULT_VPC_CIDR = '10.40.0.0/16';

/** The events Lambda (or anything else) that publishes changes to the internal IoT topic. */
export interface ChangeTopicPublisher {
  addEnvironment(key: string, value: string): unknown;
  readonly role?: IRole;
}

/**
 * Reads the `grpcCertificateArn` context flag: the ACM certificate the load balancer presents
 * to gRPC callers.
 * @returns undefined when the flag is absent
 */
export function grpcCertificateArnFromContext(scope: Construct): string | undefined {
  const value: unknown = scope.node.tryGetContext('grpcCertificateArn');
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/.test(value)) {
    throw new Error(`Invalid context flag grpcCertificateArn=${JSON.stringify(value)}: use -c grpcCertificateArn=arn:aws:acm:<region>:<account>:certificate/<id>`);
  }
  return value;
}

/** Props of {@link DeviceService}. */
export interface DeviceServiceProps {
  /** Only access tokens of this user pool are accepted. */
  readonly userPool: IUserPool;
  /** App clients whose access tokens are accepted (the web client, the internal client). */
  readonly accessTokenClientIds: readonly string[];
  /** Where telemetry is read from (GetTelemetry); without it GetTelemetry answers UNIMPLEMENTED. */
  readonly telemetry?: TelemetryReadGrant;
  /**
   * ACM certificate the NLB presents to callers (TLS listener, re-encrypted to the task).
   * @default - the `grpcCertificateArn` context flag; without one the NLB passes TCP through to
   *   the task's own TLS, which callers cannot verify (synth warns)
   */
  readonly certificateArn?: string;
  /** The tables: read/write Devices, read Stats (and their name variables). */
  readonly storage: Storage;
  /** Gets CHANGE_TOPIC_ENABLED=true and iot:Publish on the change topics, so WatchDevices sees every change. */
  readonly changePublisher: ChangeTopicPublisher;
  /**
   * An existing VPC. Requires `clientCidr`.
   * @default - a new VPC (DEFAULT_VPC_CIDR, 2 AZs, one NAT gateway, a DynamoDB gateway endpoint, flow logs)
   */
  readonly existingVpcObj?: IVpc;
  /**
   * Literal CIDR allowed to call the service (a literal: cdk-nag EC23 cannot evaluate a token).
   * @default DEFAULT_VPC_CIDR (the VPC this construct creates)
   */
  readonly clientCidr?: string;
  /**
   * HMAC key of the page tokens.
   * @default - a new generated secret
   */
  readonly pageTokenSecret?: ISecret;
  /**
   * The account's IoT data endpoint host (`xxxx-ats.iot.<region>.amazonaws.com`).
   * @default - looked up by the task at start with iot:DescribeEndpoint
   */
  readonly iotEndpoint?: string;
  /** @default 2 */
  readonly minTasks?: number;
  /** @default 10 */
  readonly maxTasks?: number;
  /** @default 60 */
  readonly targetCpuPercent?: number;
  /**
   * ECS stop timeout; the server's shutdown grace is 5 s less, after the NLB deregistration delay.
   * @default Duration.seconds(30)
   */
  readonly stopTimeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * Task memory of the gRPC service, sized for its worst case (src/grpc/server.ts):
 * ~100 MiB Node runtime and code; 128 MiB RECEIVE_BUDGET_BYTES of requests being received (8 x the
 * 16 MiB max message, which the 10 MB-metadata INVALID_ARGUMENT contract needs), doubled to 256 MiB
 * for the moment a finished message is concatenated from its chunks; 16 MiB for one connection's
 * 256 (MAX_CONCURRENT_STREAMS) streams waiting for budget, each holding at most the 64 KiB HTTP/2
 * window; WatchDevices shares one encoded message per change across streams and cuts a stream 256
 * changes behind. ~372 MiB: 512 would leave V8 and GC under 30 % headroom, so 1,024 MiB (valid
 * with 0.25 vCPU), which also holds 10,000 open WatchDevices streams (npm run bench:grpc measures
 * about 11 KiB of server memory per stream, ~110 MiB).
 */
export const DEVICE_SERVICE_MEMORY_MIB = 1_024;

/**
 * The gRPC DeviceService on ECS Fargate (arm64) behind an internal Network Load Balancer on
 * port 50051, reachable only from inside the VPC, over TLS only, every call but health
 * authenticated with a Cognito access token. Deployment circuit breaker with rollback,
 * CPU autoscaling, Container Insights, a least-privilege task role.
 */
export class DeviceService extends Construct {
  /** `host:port` of the internal load balancer. */
  public readonly endpoint: string;
  public readonly vpc: IVpc;
  public readonly service: FargateService;
  public readonly loadBalancer: NetworkLoadBalancer;
  /** The load balancer's targets: the service's tasks. */
  public readonly targetGroup: NetworkTargetGroup;
  /** The fewest tasks the service runs (autoscaling minimum). */
  public readonly minTasks: number;
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: DeviceServiceProps) {
    super(scope, id);
    if (props.existingVpcObj && !props.clientCidr) {
      throw new Error('DeviceService: existingVpcObj needs clientCidr (the literal CIDR allowed to call the service)');
    }
    const clientCidr = props.clientCidr ?? DEFAULT_VPC_CIDR;
    const stopTimeout = props.stopTimeout ?? Duration.seconds(30);
    if (stopTimeout.toSeconds() < 10 || stopTimeout.toSeconds() > 120) {
      throw new Error(`DeviceService: stopTimeout must be 10-120 s (ECS limit), got ${stopTimeout.toSeconds()} s`);
    }
    const stack = Stack.of(this);

    this.vpc = props.existingVpcObj ?? this.createVpc();

    const cluster = new Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ContainerInsights.ENABLED });

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const taskDefinition = new FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: 256,
      memoryLimitMiB: DEVICE_SERVICE_MEMORY_MIB,
      runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
    });
    const secret =
      props.pageTokenSecret ??
      new Secret(this, 'PageTokenSecret', {
        description: 'HMAC key of the gRPC DeviceService page tokens',
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
    const container = taskDefinition.addContainer('grpc', {
      image: ContainerImage.fromAsset(join(dirname(fileURLToPath(import.meta.url)), '..'), {
        file: 'Dockerfile',
        platform: Platform.LINUX_ARM64,
      }),
      logging: LogDrivers.awsLogs({ streamPrefix: 'grpc', logGroup: this.logGroup }),
      portMappings: [{ containerPort: GRPC_PORT, protocol: EcsProtocol.TCP }],
      readonlyRootFilesystem: true,
      stopTimeout,
      environment: {
        [DEVICE_SERVICE_VARIABLES.port]: String(GRPC_PORT),
        // The NLB deregisters first; after SIGTERM the drain leaves 10 s of the stop timeout for the
        // log flush (at most 8 s) and exit, before ECS sends SIGKILL.
        [DEVICE_SERVICE_VARIABLES.shutdownGraceMs]: String((stopTimeout.toSeconds() - 10) * 1000),
        [VARIABLES.pageTokenSecretArn]: secret.secretArn,
        [DEVICE_SERVICE_VARIABLES.iotEndpoint]: props.iotEndpoint ?? DESCRIBE_IOT_ENDPOINT,
        NODE_OPTIONS: '--max-old-space-size=384',
        [DEVICE_SERVICE_VARIABLES.userPoolId]: props.userPool.userPoolId,
        [DEVICE_SERVICE_VARIABLES.accessTokenClientIds]: props.accessTokenClientIds.join(','),
        // Reflection stays off in the cloud: it would map the API for anyone inside the VPC.
        [DEVICE_SERVICE_VARIABLES.reflection]: 'disabled',
      },
      healthCheck: {
        command: ['CMD', '/nodejs/bin/node', '/app/health-client.mjs'],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(20),
      },
    });
    const taskRole = taskDefinition.taskRole;
    const consumer = { grantPrincipal: taskRole, addEnvironment: (key: string, value: string) => container.addEnvironment(key, value) };
    props.storage.grantDevicesReadWrite(consumer);
    props.storage.grantStatsRead(consumer);
    // Commands and twins: the same use cases as the resolver, publishing to devices' command and delta topics.
    props.storage.grant(COMMANDS_TABLE, consumer, 'readWrite');
    props.storage.grant(TWINS_TABLE, consumer, 'readWrite');
    props.storage.grant(ALARMS_TABLE, consumer, 'readWrite');
    props.telemetry?.grantTelemetryRead({ scope: this, role: taskRole, addEnvironment: (key, value) => container.addEnvironment(key, value) });
    secret.grantRead(taskRole);
    const iotArn = (resource: string) =>
      Arn.format({ service: 'iot', resource, resourceName: undefined, arnFormat: ArnFormat.NO_RESOURCE_NAME }, stack);
    const topicPattern = changeTopic('*');
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Connect'], resources: [iotArn(`client/${DEVICE_SERVICE_CLIENT_ID_PREFIX}*`)] }));
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Subscribe'], resources: [iotArn(`topicfilter/${CHANGE_TOPIC_FILTER}`)] }));
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Receive'], resources: [iotArn(`topic/${topicPattern}`)] }));
    // WatchAlarms relays the alarm transitions the alarm-events Lambda publishes.
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Subscribe'], resources: [iotArn(`topicfilter/${ALARM_TOPIC_FILTER}`)] }));
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Receive'], resources: [iotArn(`topic/${alarmTopic('*')}`)] }));
    // WatchCommands relays the command transitions; SendCommand and UpdateDesiredState publish to devices.
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Subscribe'], resources: [iotArn(`topicfilter/${COMMAND_CHANGE_TOPIC_FILTER}`)] }));
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:Receive'], resources: [iotArn(`topic/${commandChangeTopic('*')}`)] }));
    taskRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['iot:Publish'], resources: [iotArn(`topic/${commandTopic('*')}`), iotArn(`topic/${twinDeltaTopic('*')}`)] }),
    );
    if (!props.iotEndpoint) {
      // In a policy of its own: the acknowledgement of its Resource "*" then covers this one
      // action, not whatever else lands in the task role's default policy.
      const describeEndpoint = new Policy(this, 'DescribeEndpointPolicy', {
        statements: [new PolicyStatement({ actions: ['iot:DescribeEndpoint'], resources: ['*'] })],
      });
      describeEndpoint.attachToRole(taskRole);
      Validations.of(describeEndpoint).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'iot:DescribeEndpoint (the task looks up the IoT data endpoint at start) supports no resource-level permissions; this policy holds that one action.',
      });
    }

    if (!props.changePublisher.role) throw new Error('DeviceService: changePublisher has no role to grant iot:Publish to');
    props.changePublisher.addEnvironment(VARIABLES.changeTopicEnabled, 'true');
    const publishPolicy = new Policy(this, 'ChangeTopicPublishPolicy', {
      statements: [new PolicyStatement({ actions: ['iot:Publish'], resources: [iotArn(`topic/${topicPattern}`), iotArn(`topic/${commandChangeTopic('*')}`)] })],
    });
    publishPolicy.attachToRole(props.changePublisher.role);
    Validations.of(publishPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagIotArn(`topic/${topicPattern}`)}]`,
      reason: 'The events Lambda publishes each change to its own device topic under internal/device-changes/; the wildcard is the device id only.',
    });
    Validations.of(publishPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagIotArn(`topic/${commandChangeTopic('*')}`)}]`,
      reason: 'The events Lambda publishes each command transition to its device topic under internal/command-changes/; the wildcard is the device id only.',
    });

    // Callers reach the NLB from the client CIDR; the tasks accept only the NLB.
    const lbSecurityGroup = new SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      description: 'gRPC DeviceService load balancer: port 50051 from inside the VPC only',
      allowAllOutbound: false,
    });
    lbSecurityGroup.addIngressRule(Peer.ipv4(clientCidr), Port.tcp(GRPC_PORT), 'gRPC callers inside the VPC');
    const serviceSecurityGroup = new SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc: this.vpc,
      description: 'gRPC DeviceService tasks: port 50051 from the load balancer only',
      allowAllOutbound: true,
    });
    serviceSecurityGroup.addIngressRule(lbSecurityGroup, Port.tcp(GRPC_PORT), 'gRPC from the load balancer');
    lbSecurityGroup.addEgressRule(serviceSecurityGroup, Port.tcp(GRPC_PORT), 'gRPC to the tasks');

    this.minTasks = props.minTasks ?? 2;
    this.service = new FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: this.minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [serviceSecurityGroup],
      assignPublicIp: false,
      healthCheckGracePeriod: Duration.seconds(30),
    });
    const scaling = this.service.autoScaleTaskCount({ minCapacity: this.minTasks, maxCapacity: props.maxTasks ?? 10 });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.targetCpuPercent ?? 60,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });

    this.loadBalancer = new NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [lbSecurityGroup],
      crossZoneEnabled: true,
    });
    // TLS end to end, no plaintext hop. With an ACM certificate the NLB terminates the callers'
    // TLS (a name and chain they can verify, renewed by ACM) and opens a new TLS connection to
    // the task, which serves only TLS with a key made in memory at start (NLBs do not validate
    // target certificates). The alternative, TLS on the task with a certificate the stack
    // provisions, would need a private CA or a secret holding a long-lived key that every task
    // shares and callers must pin; ACM keeps key and renewal out of the tasks.
    const certificateArn = props.certificateArn ?? grpcCertificateArnFromContext(this);
    const listener = certificateArn
      ? this.loadBalancer.addListener('Grpc', {
          port: GRPC_PORT,
          protocol: Protocol.TLS,
          certificates: [ListenerCertificate.fromArn(certificateArn)],
          sslPolicy: SslPolicy.RECOMMENDED_TLS,
          // gRPC is HTTP/2: clients must be able to negotiate h2 through the NLB.
          alpnPolicy: AlpnPolicy.HTTP2_ONLY,
        })
      : this.loadBalancer.addListener('Grpc', { port: GRPC_PORT, protocol: Protocol.TCP });
    if (!certificateArn) {
      Annotations.of(this).addWarningV2(
        'iot-platform:grpcCertificate',
        'No grpcCertificateArn: the NLB passes TCP through to the tasks, whose TLS certificate callers cannot verify. Pass -c grpcCertificateArn=<ACM certificate ARN>.',
      );
    }
    this.targetGroup = listener.addTargets('Tasks', {
      port: GRPC_PORT,
      protocol: certificateArn ? Protocol.TLS : Protocol.TCP,
      targets: [this.service.loadBalancerTarget({ containerName: container.containerName, containerPort: GRPC_PORT })],
      // ECS waits for deregistration before SIGTERM; keep it short of the stop timeout.
      deregistrationDelay: Duration.seconds(15),
      healthCheck: { protocol: Protocol.TCP, interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
    });
    this.endpoint = `${this.loadBalancer.loadBalancerDnsName}:${GRPC_PORT}`;

    const devicesTableId = stack.getLogicalId(props.storage.devicesTable.node.defaultChild as CfnElement);
    const commandsTableId = stack.getLogicalId(props.storage.table(COMMANDS_TABLE).node.defaultChild as CfnElement);
    const alarmsTableId = stack.getLogicalId(props.storage.table(ALARMS_TABLE).node.defaultChild as CfnElement);
    this.acknowledgeFindings(taskDefinition, secret, devicesTableId, commandsTableId, Boolean(props.pageTokenSecret), alarmsTableId);
  }

  private createVpc(): Vpc {
    // One NAT gateway (about $33/month) is cheaper than the five interface endpoints ECR, Logs,
    // Secrets Manager and IoT would need in each AZ; DynamoDB goes through a free gateway endpoint.
    const vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr(DEFAULT_VPC_CIDR),
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: { DynamoDb: { service: GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    const flowLogGroup = new LogGroup(this, 'FlowLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN });
    vpc.addFlowLog('FlowLog', { destination: FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: FlowLogTrafficType.REJECT });
    return vpc;
  }

  private acknowledgeFindings(
    taskDefinition: FargateTaskDefinition,
    secret: ISecret,
    devicesTableId: string,
    commandsTableId: string,
    sharedSecret: boolean,
    alarmsTableId: string,
  ): void {
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds only names (tables, secret ARN, port, endpoint), no secret values; the page-token key is read from Secrets Manager at start.',
    });
    const taskPolicy = taskDefinition.taskRole.node.findChild('DefaultPolicy');
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${devicesTableId}.Arn>/index/*]`,
      reason: "Listing queries the Devices GSIs (by creation, status, type); the grant covers this table's indexes only.",
    });
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagIotArn(`client/${DEVICE_SERVICE_CLIENT_ID_PREFIX}*`)}]`,
      reason: 'Each task connects with a unique client id under this prefix (host name + random suffix), so two tasks never take over each other.',
    });
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagIotArn(`topic/${changeTopic('*')}`)}]`,
      reason: 'WatchDevices receives the change of every device; the wildcard is the device id under the internal change topic only.',
    });
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagIotArn(`topic/${commandChangeTopic('*')}`)}]`,
      reason: 'WatchCommands receives the transitions of every device; the wildcard is the device id under the internal command change topic only.',
    });
    for (const topic of [commandTopic('*'), twinDeltaTopic('*')]) {
      Validations.of(taskPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagIotArn(`topic/${topic}`)}]`,
        reason: 'SendCommand and UpdateDesiredState publish to whichever device they are for; iot:Publish on the device command and delta topics only.',
      });
    }
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${commandsTableId}.Arn>/index/*]`,
      reason: 'ListCommands queries the byDevice index and sends read the queue index; the grant covers this table only.',
    });
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagIotArn(`topicfilter/${ALARM_TOPIC_FILTER}`)}]`,
      reason: 'WatchAlarms subscribes once to every device\'s alarm transitions; the filter covers the internal alarm topics only.',
    });
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagIotArn(`topic/${alarmTopic('*')}`)}]`,
      reason: 'WatchAlarms receives the transitions of every device; the wildcard is the device id under the internal alarm topic only.',
    });
    Validations.of(taskPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${alarmsTableId}.Arn>/index/*]`,
      reason: 'ListAlarms queries the Alarms indexes (by rule, state and change time); the grant covers this table\'s indexes only.',
    });
    const executionPolicy = taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      Validations.of(executionPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken, granted by CDK for pulling the image asset, supports only Resource "*".',
      });
    }
    if (!sharedSecret) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'An HMAC key for opaque page tokens; rotating it only invalidates tokens in flight, and no rotation Lambda is worth that.',
      });
    }
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason: 'Internal NLB in front of a service that logs one JSON line per call naming the caller; VPC flow logs record rejected traffic.',
    });
  }
}

/** An IoT ARN as cdk-nag prints it in finding ids. */
function nagIotArn(resource: string): string {
  return `arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:${resource}`;
}
