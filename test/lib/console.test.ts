import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { Console } from '../../lib/console.js';
import { testStack } from './stack-helper.js';

const FIXTURE = 'test/lib/fixtures/console';
const GRAPHQL_URL = 'https://abc123.appsync-api.eu-west-1.amazonaws.com/graphql';
const REALTIME_URL = 'wss://abc123.appsync-realtime-api.eu-west-1.amazonaws.com/graphql';

function build(options: { callbackUrls?: string[] } = {}) {
  const stack = testStack();
  const userPool = new UserPool(stack, 'Pool');
  const userPoolClient = userPool.addClient('Web', {
    generateSecret: false,
    ...(options.callbackUrls && { oAuth: { callbackUrls: options.callbackUrls, logoutUrls: options.callbackUrls } }),
  });
  // Deploy-time values, as the Api construct's endpoints are: config.json carries them as markers.
  const graphqlUrl = new CfnParameter(stack, 'GraphqlUrl', { default: GRAPHQL_URL }).valueAsString;
  const realtimeUrl = new CfnParameter(stack, 'RealtimeUrl', { default: REALTIME_URL }).valueAsString;
  const signInDomain = userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: 'iot-fleet-test' } });
  const console = new Console(stack, 'Console', { api: { graphqlUrl, realtimeUrl }, userPool, userPoolClient, signInDomain, assetPath: FIXTURE });
  return { stack, userPool, userPoolClient, signInDomain, console, template: Template.fromStack(stack) };
}

/** The distribution's URL as the template spells it. */
function consoleUrl(stack: Stack, console: Console): unknown {
  return stack.resolve(`${console.url}/`);
}

describe('Console', () => {
  it('keeps the site in a private, encrypted, TLS-only bucket that only CloudFront reads, through Origin Access Control', () => {
    const { stack, console, template } = build();

    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'bucket/' }),
    });
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: stack.resolve(console.bucket.bucketName),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
  });

  it('serves HTTPS only, answers unknown paths with the app, and logs requests', () => {
    const { template } = build();

    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'], Compress: true }),
        CustomErrorResponses: [
          { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
          { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
        ],
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
      }),
    });
  });

  it('sends a strict content security policy and the other security headers on every response', () => {
    const { template } = build();

    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    const config = Object.values(policies)[0]!.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = JSON.stringify(config.ContentSecurityPolicy.ContentSecurityPolicy);
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self' https://"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe');
    expect(csp).toContain('wss://');
    expect(csp).toContain('https://cognito-idp.');
    expect(config.ContentSecurityPolicy.Override).toBe(true);
    expect(config.StrictTransportSecurity).toEqual({ AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Preload: true, Override: true });
    expect(config.ContentTypeOptions).toEqual({ Override: true });
    expect(config.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(config.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
  });

  it('writes config.json at deploy time with the API, the real-time endpoint and the user pool, never cached', () => {
    const { stack, userPool, userPoolClient, template } = build();

    const deployments = template.findResources('Custom::CDKBucketDeployment');
    const entry = Object.values(deployments).find((d) => d.Properties.DistributionPaths)!;
    expect(entry.Properties.SystemMetadata).toEqual({ 'cache-control': 'no-cache' });
    expect(entry.Properties.Prune).toBe(false);
    expect(entry.Properties.DistributionPaths).toEqual(['/', '/index.html', '/config.json']);
    const markers = JSON.stringify(entry.Properties.SourceMarkers);
    expect(markers).toContain(JSON.stringify({ Ref: 'GraphqlUrl' }));
    expect(markers).toContain(JSON.stringify({ Ref: 'RealtimeUrl' }));
    expect(markers).toContain(JSON.stringify(stack.resolve(userPool.userPoolId)));
    expect(markers).toContain(JSON.stringify(stack.resolve(userPoolClient.userPoolClientId)));
    const assets = Object.values(deployments).find((d) => d !== entry)!;
    expect(assets.Properties.SystemMetadata).toEqual({ 'cache-control': 'public, max-age=31536000, immutable' });
    expect(assets.Properties.Prune).toBe(false);
  });

  it("makes the distribution's URL the app client's callback and sign-out URL, code flow only, keeping other URLs", () => {
    const { stack, console, template } = build({ callbackUrls: ['http://localhost:5173/'] });

    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: ['http://localhost:5173/', consoleUrl(stack, console)],
      LogoutURLs: ['http://localhost:5173/', consoleUrl(stack, console)],
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: Match.arrayWith(['openid', 'email', 'profile']),
      SupportedIdentityProviders: ['COGNITO'],
      GenerateSecret: false,
    });
  });

  it("drops the CDK's example.com placeholder and the implicit flow from a client that named no URLs", () => {
    const { stack, console, template } = build();

    template.hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: [consoleUrl(stack, console)], AllowedOAuthFlows: ['code'] });
  });

  it("signs in on the user pool's own domain (a pool has one) and outputs ConsoleUrl", () => {
    const { stack, console, signInDomain, template } = build();

    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    const entry = Object.values(template.findResources('Custom::CDKBucketDeployment')).find((d) => d.Properties.DistributionPaths)!;
    expect(JSON.stringify(entry.Properties.SourceMarkers)).toContain('AWS::Region');
    const csp = JSON.stringify(Object.values(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'))[0]!.Properties);
    // connect-src names the domain's token endpoint host: https://<domain>.auth.<region>.amazoncognito.com
    expect(csp).toContain(JSON.stringify(stack.resolve(signInDomain.domainName)));
    expect(csp).toContain('.auth.');
    template.hasOutput('ConsoleUrl', { Value: stack.resolve(console.url) });
  });

  it('refuses to synthesize without a built console, naming the command that builds it', () => {
    const stack = testStack();
    const userPool = new UserPool(stack, 'Pool');
    const signInDomain = userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: 'iot-fleet-test' } });
    expect(
      () =>
        new Console(stack, 'Console', {
          api: { graphqlUrl: GRAPHQL_URL, realtimeUrl: REALTIME_URL },
          userPool,
          userPoolClient: userPool.addClient('Web'),
          signInDomain,
          assetPath: 'test/lib/fixtures/none',
        }),
    ).toThrow(/npm run build:console/);
  });

  it('leaves cdk-nag AwsSolutions nothing unacknowledged in the console', () => {
    const { stack } = build();

    const findings = new AwsSolutionsChecks(stack).validateScope(stack);

    const ours = findings.violations.filter((f) => f.violatingResources.some((r) => r.constructPath?.startsWith('TestStack/Console/')));
    expect(ours.map((f) => `${f.ruleName} ${f.violatingResources.map((r) => r.constructPath).join(',')}`)).toEqual([]);
  });
});
