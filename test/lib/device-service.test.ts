import { Template, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Function as LambdaFunction, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { Annotations } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DeviceService, DEVICE_SERVICE_MEMORY_MIB, GRPC_PORT } from '../../lib/device-service.js';
import { MAX_CONCURRENT_STREAMS, MAX_RECEIVE_MESSAGE_BYTES, RECEIVE_BUDGET_BYTES } from '../../src/grpc/server.js';
import { Storage } from '../../lib/storage.js';
import { testStack } from './stack-helper.js';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

function build(context: Record<string, unknown> = { grpcCertificateArn: CERTIFICATE_ARN }) {
  const stack = testStack(context);
  const storage = new Storage(stack, 'Storage');
  const publisher = new LambdaFunction(stack, 'Publisher', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>{}') });
  const userPool = new UserPool(stack, 'Pool');
  const service = new DeviceService(stack, 'DeviceService', { storage, changePublisher: publisher, userPool, accessTokenClientIds: ['web-client', 'internal-client'] });
  return { stack, service, template: Template.fromStack(stack) };
}

describe('DeviceService', () => {
  const { stack, template } = build();
  it('runs one container on Fargate arm64 with the health client as its health check and a stop timeout', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      RequiresCompatibilities: ['FARGATE'],
      ContainerDefinitions: [
        Match.objectLike({
          PortMappings: [{ ContainerPort: GRPC_PORT, Protocol: 'tcp' }],
          ReadonlyRootFilesystem: true,
          StopTimeout: 30,
          HealthCheck: Match.objectLike({ Command: ['CMD', '/nodejs/bin/node', '/app/health-client.mjs'] }),
          Environment: Match.arrayWith([
            { Name: 'SHUTDOWN_GRACE_MS', Value: '20000' },
            Match.objectLike({ Name: 'PAGE_TOKEN_SECRET_ARN' }),
            { Name: 'IOT_ENDPOINT', Value: 'describe' },
            Match.objectLike({ Name: 'DEVICES_TABLE_NAME' }),
            Match.objectLike({ Name: 'STATS_TABLE_NAME' }),
          ]),
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
  });

  it('gives the task memory for the server worst case: runtime, the receive budget twice over, one connection of waiting streams', () => {
    // Prepare: the bounds the server enforces (src/grpc/server.ts), in MiB.
    const MiB = 1024 * 1024;
    const runtime = 100;
    const receiving = (2 * RECEIVE_BUDGET_BYTES) / MiB; // chunks plus the concatenated message
    const waitingStreams = (MAX_CONCURRENT_STREAMS * 64 * 1024) / MiB; // HTTP/2 stream window each
    const worstCase = runtime + receiving + waitingStreams;

    // Assess
    expect(MAX_RECEIVE_MESSAGE_BYTES).toBeGreaterThan(10_000_000); // a 10 MB metadata still reaches the wire check
    expect(MAX_CONCURRENT_STREAMS).toBeGreaterThanOrEqual(200); // bench/grpc.ts: 10,000 WatchDevices streams, 200 per channel
    expect(worstCase).toBe(372);
    expect(DEVICE_SERVICE_MEMORY_MIB).toBeGreaterThan(worstCase * 1.5);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '256', Memory: String(DEVICE_SERVICE_MEMORY_MIB) });
    expect(DEVICE_SERVICE_MEMORY_MIB).toBe(1_024);
  });

  it('enables Container Insights on the cluster', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  it('deploys with a circuit breaker that rolls back, in private subnets without public IPs', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
    });
  });

  it('scales on CPU between 2 and 10 tasks', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 10 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 60 }),
    });
  });

  it('puts an internal NLB on port 50051 in front of the tasks', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'network', Scheme: 'internal' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: GRPC_PORT,
      TargetType: 'ip',
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '15' }]),
    });
  });

  it('has no plaintext path: a TLS listener with the ACM certificate and h2 ALPN, re-encrypted to a TLS target group', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: GRPC_PORT,
      Protocol: 'TLS',
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      AlpnPolicy: ['HTTP2Only'],
    });
    const listeners = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::Listener'));
    expect(listeners.map((l) => l.Properties.Protocol)).toEqual(['TLS']);
    const groups = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'));
    expect(groups.map((g) => g.Properties.Protocol)).toEqual(['TLS']);
  });

  it('without a certificate passes TCP through to the TLS-only task and warns that callers cannot verify it', () => {
    // Prepare
    const { stack: bare, template: passthrough } = build({});

    // Assess
    passthrough.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: GRPC_PORT, Protocol: 'TCP' });
    Annotations.fromStack(bare).hasWarning('/TestStack/DeviceService', Match.stringLikeRegexp('No grpcCertificateArn'));
  });

  it('refuses a grpcCertificateArn that is not an ACM certificate ARN', () => {
    expect(() => build({ grpcCertificateArn: 'arn:aws:iam::123456789012:server-certificate/x' })).toThrow(/Invalid context flag grpcCertificateArn/);
  });

  it('tells the task which user pool and app clients to accept tokens of, with reflection off', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'USER_POOL_ID', Value: Match.anyValue() },
            { Name: 'ACCESS_TOKEN_CLIENT_IDS', Value: 'web-client,internal-client' },
            { Name: 'GRPC_REFLECTION', Value: 'disabled' },
          ]),
        }),
      ],
    });
  });

  it('opens 50051 on the load balancer to the VPC CIDR only, and the tasks to the load balancer only', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const ingress = Object.values(groups).flatMap((g) => (g.Properties.SecurityGroupIngress ?? []) as Record<string, unknown>[]);
    expect(ingress).toEqual([expect.objectContaining({ CidrIp: '10.40.0.0/16', FromPort: GRPC_PORT, ToPort: GRPC_PORT, IpProtocol: 'tcp' })]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: GRPC_PORT, SourceSecurityGroupId: Match.anyValue() });
    expect(JSON.stringify(template.toJSON())).not.toContain('0.0.0.0/0"}],"VpcId"');
  });

  it('creates a VPC with flow logs, one NAT gateway and a DynamoDB gateway endpoint', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
  });

  it('keeps its logs a month', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('grants the task role the tables, the secret, IoT on the change topics and its own client ids, and publishing on device command and delta topics only', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('DeviceServiceTaskDefinitionTaskRole') }] } });
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query', 'secretsmanager:GetSecretValue', 'iot:Connect', 'iot:Subscribe', 'iot:Receive', 'iot:DescribeEndpoint']));
    const publish = JSON.stringify(statements.filter((s) => s.Action === 'iot:Publish').map((s) => s.Resource));
    expect(publish).toContain(':topic/cmd/iot/*/commands');
    expect(publish).toContain(':topic/cmd/iot/*/delta');
    expect(publish).not.toContain('internal/');
    const iot = JSON.stringify(statements.filter((s) => String(s.Action).startsWith('iot:') && s.Action !== 'iot:DescribeEndpoint'));
    expect(iot).toContain(':topicfilter/internal/command-changes/#');
    expect(iot).toContain(':topic/internal/command-changes/*');
    expect(iot).toContain(':client/device-service-*');
    expect(iot).toContain(':topicfilter/internal/device-changes/#');
    expect(iot).toContain(':topic/internal/device-changes/*');
  });

  it('turns on the change topic in the publisher and lets it publish on the device and command change topics only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ CHANGE_TOPIC_ENABLED: 'true' }) } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'iot:Publish',
            Resource: [
              Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':topic/internal/device-changes/*'])]) }),
              Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':topic/internal/command-changes/*'])]) }),
            ],
          }),
        ]),
      },
    });
  });

  it('refuses an existing VPC without a literal client CIDR, naming both props', () => {
    const other = testStack();
    const storage = new Storage(other, 'Storage');
    const fn = new LambdaFunction(other, 'P', { runtime: Runtime.NODEJS_22_X, handler: 'i.h', code: Code.fromInline('x') });
    const vpc = new Vpc(other, 'V');
    const userPool = new UserPool(other, 'Pool');
    expect(() => new DeviceService(other, 'S', { storage, changePublisher: fn, existingVpcObj: vpc, userPool, accessTokenClientIds: ['c'] })).toThrow(/existingVpcObj needs clientCidr/);
  });

  it('leaves no cdk-nag AwsSolutions finding of its own unacknowledged', () => {
    const findings = new AwsSolutionsChecks(stack).validateScope(stack);
    const ours = findings.violations.filter((f) => f.violatingResources.some((r) => r.constructPath?.startsWith('TestStack/DeviceService/')));
    expect(ours.map((f) => `${f.ruleName} ${f.violatingResources.map((r) => r.constructPath).join(',')}`)).toEqual([]);
  });
});
