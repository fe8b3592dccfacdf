import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { LEAN_AWS_CLIENTS } from '../../lib/lean-aws-clients.js';
import { AWS_CLIENTS_FLAG, ESM_REQUIRE_BANNER, PlatformFunction, PROJECT_ROOT, SOURCE_MAPS_FLAG } from '../../lib/platform-function.js';
import { FIXTURE_HANDLER, testStack } from './stack-helper.js';

function build(props: Partial<ConstructorParameters<typeof PlatformFunction>[2]> = {}) {
  const stack = testStack();
  const fn = new PlatformFunction(stack, 'Fn', { entry: FIXTURE_HANDLER, serviceName: 'test-service', ...props });
  return { stack, fn, template: Template.fromStack(stack) };
}

describe('PlatformFunction', () => {
  it('runs nodejs24.x on arm64 without active tracing', () => {
    // Prepare / Act
    const { template } = build();

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: Match.absent(),
      MemorySize: 256,
      Timeout: 30,
    });
  });

  it('sets the Powertools variables, and no run-time source maps by default', () => {
    // Prepare / Act
    const { template } = build({ environment: { EXTRA: 'yes' } });

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'test-service',
          POWERTOOLS_METRICS_NAMESPACE: 'IotPlatform',
          NODE_OPTIONS: Match.absent(),
          EXTRA: 'yes',
        },
      },
    });
  });

  it('applies source maps at run time when asked, by prop or by -c lambdaSourceMaps=runtime', () => {
    // Prepare / Act
    const byProp = build({ sourceMapsAtRuntime: true }).template;
    const stack = testStack({ [SOURCE_MAPS_FLAG]: 'runtime' });
    new PlatformFunction(stack, 'Fn', { entry: FIXTURE_HANDLER, serviceName: 'test-service' });
    const byFlag = Template.fromStack(stack);

    // Assess
    for (const template of [byProp, byFlag]) {
      template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } } });
    }
    expect(() => new PlatformFunction(testStack({ [SOURCE_MAPS_FLAG]: 'on' }), 'Fn', { entry: FIXTURE_HANDLER, serviceName: 's' })).toThrow(/lambdaSourceMaps/);
  });

  it('leaves source-map support out when source maps are off', () => {
    // Prepare / Act
    const { template } = build({ sourceMaps: false, sourceMapsAtRuntime: true });

    // Assess
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fn!.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
  });

  it('logs as JSON to an explicit log group with retention, retained by default', () => {
    // Prepare / Act
    const { stack, fn, template } = build();

    // Assess
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogFormat: 'JSON', LogGroup: stack.resolve(fn.logGroup.logGroupName) },
    });
  });

  it('honours the log retention and removal props', () => {
    // Prepare / Act
    const { template } = build({ logRetention: RetentionDays.ONE_WEEK, logRemovalPolicy: RemovalPolicy.DESTROY, memorySize: 512, timeout: Duration.seconds(5) });

    // Assess
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 7 }, DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 512, Timeout: 5 });
  });

  it('uses an own role that writes only to its log group, without managed policies', () => {
    // Prepare / Act
    const { stack, fn, template } = build();

    // Assess
    const [role] = Object.values(template.findResources('AWS::IAM::Role'));
    expect(role!.Properties.ManagedPolicyArns).toBeUndefined();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: stack.resolve(fn.logGroup.logGroupArn) }],
      },
      Roles: [stack.resolve(fn.executionRole.roleName)],
    });
  });

  it('grants no X-Ray permissions, since it sends no traces', () => {
    // Prepare / Act
    const { template } = build();

    // Assess
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((s) => s.Action),
    );
    expect(actions.filter((action) => action.startsWith('xray:'))).toEqual([]);
  });

  it('resolves a relative entry from the repository root', () => {
    // Prepare / Act / Assess
    expect(() => build({ entry: 'test/lib/fixtures/missing-handler.ts' })).toThrow(/missing-handler\.ts/);
    expect(() => build({ entry: join(PROJECT_ROOT, FIXTURE_HANDLER) })).not.toThrow();
  });

  describe('bundling (local esbuild, no Docker)', () => {
    let outdir: string | undefined;
    afterEach(() => {
      if (outdir) rmSync(outdir, { recursive: true, force: true });
    });

    /** Synthesizes one PlatformFunction of the fixture handler; its bundle and the sources its map names. */
    const bundleOf = (props: Partial<ConstructorParameters<typeof PlatformFunction>[2]> = {}, context: Record<string, string> = {}) => {
      process.env.CDK_VALIDATION = 'false';
      outdir = mkdtempSync(join(tmpdir(), 'platform-function-'));
      const app = new App({ outdir, context });
      new PlatformFunction(new Stack(app, 'BundleStack'), 'Fn', { entry: FIXTURE_HANDLER, serviceName: 'bundle-test', ...props });
      app.synth();
      const assetDir = readdirSync(outdir).find((name) => name.startsWith('asset.'));
      expect(assetDir).toBeDefined();
      const dir = join(outdir, assetDir!);
      const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sourcesContent?: unknown; sources: string[] };
      return { dir, code: readFileSync(join(dir, 'index.mjs'), 'utf8'), map };
    };
    const sdkClients = (sources: string[]) => sources.filter((source) => /@aws-sdk\/(client-|core|lib-dynamodb)|@smithy\/(smithy-client|middleware-)/.test(source));

    it('produces a minified ESM bundle with the require banner, the lean AWS clients inside and an external source map', () => {
      // Prepare / Act
      const { dir, code, map } = bundleOf();

      // Assess
      expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(code).toContain('DynamoDB_20120810');
      // Minified: a few very long lines, no indentation.
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(statSync(join(dir, 'index.mjs')).size).toBeLessThan(100_000);
      expect(map.sourcesContent).toBeUndefined();
      // The SDK packages are replaced by the lean clients (LEAN_AWS_CLIENTS), and no credential chain comes along.
      expect(map.sources.some((source) => source.endsWith(LEAN_AWS_CLIENTS['@aws-sdk/client-dynamodb']!))).toBe(true);
      expect(sdkClients(map.sources)).toEqual([]);
      expect(map.sources.filter((source) => /credential-provider-(node|ini|sso|imds|process|web-identity)|nested-clients/.test(source))).toEqual([]);
    });

    it('bundles the SDK clients with awsClients: sdk (or -c lambdaAwsClients=sdk), credentials from the environment only', () => {
      // Prepare / Act
      const { map } = bundleOf({}, { [AWS_CLIENTS_FLAG]: 'sdk' });

      // Assess
      expect(map.sources.some((source) => source.includes('@aws-sdk/client-dynamodb'))).toBe(true);
      expect(map.sources.some((source) => source.includes('lean/dynamodb'))).toBe(false);
      expect(map.sources.filter((source) => /credential-provider-(node|ini|sso|imds|process|web-identity)|nested-clients/.test(source))).toEqual([]);
      expect(map.sources.some((source) => source.includes('credential-provider-env'))).toBe(true);
    });

    it('keeps the SDK default credential chain with awsClients: sdk and credentials: default-chain', () => {
      // Prepare / Act
      const { map } = bundleOf({ awsClients: 'sdk', credentials: 'default-chain' });

      // Assess
      expect(map.sources.some((source) => source.includes('credential-provider-node'))).toBe(true);
    });
  });

  it('refuses an unknown lambdaAwsClients value, naming the flag', () => {
    // Prepare
    const app = new App({ context: { [AWS_CLIENTS_FLAG]: 'fat' } });

    // Act / Assess
    expect(() => new PlatformFunction(new Stack(app, 'S'), 'Fn', { entry: FIXTURE_HANDLER, serviceName: 's' })).toThrow(/lambdaAwsClients=lean or -c lambdaAwsClients=sdk/);
  });
});
