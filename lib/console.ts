import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, type CfnResource, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { type CfnUserPoolClient, type IUserPool, type UserPoolClient, UserPoolDomain } from 'aws-cdk-lib/aws-cognito';
import type { Function as LambdaFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_DIST_DIR, CONSOLE_UNCACHED_FILES } from '../src/contracts/console-assets.js';
import { CONSOLE_CONFIG_PATH, CONSOLE_OAUTH_SCOPES, type ConsoleRuntimeConfig } from '../src/contracts/console-config.js';

/** Props of {@link Console}. */
export interface ConsoleProps {
  /** The AppSync API the console calls: its HTTPS and real-time endpoints. */
  readonly api: { readonly graphqlUrl: string; readonly realtimeUrl: string };
  /** The user pool people sign in to. */
  readonly userPool: IUserPool;
  /** The app client the console signs in with; its callback and sign-out URLs gain the console's URL. */
  readonly userPoolClient: UserPoolClient;
  /** The user pool's domain (a pool has one), whose hosted pages sign people in. */
  readonly signInDomain: UserPoolDomain;
  /**
   * The built console.
   * @default CONSOLE_DIST_DIR (`npm run build:console`)
   */
  readonly assetPath?: string;
}

/** The placeholder callback the CDK gives an app client that names none. */
const CDK_PLACEHOLDER_CALLBACK = 'https://example.com';

/**
 * The web console in the cloud: the built app in a private S3 bucket read by CloudFront through
 * Origin Access Control, HTTPS only, a strict content security policy and the other security
 * headers, every unknown path answered with index.html (the app routes in the browser), and a
 * config.json written at deploy time naming the API and the user pool. The app client signs in
 * with the code flow and PKCE, back to the distribution's URL.
 */
export class Console extends Construct {
  /** https://<distribution>.cloudfront.net */
  public readonly url: string;
  public readonly distribution: Distribution;
  public readonly bucket: Bucket;
  /** The CDK's function that copies the site into the bucket at deploy time (for alarms). */
  public readonly deployFunction: IFunction;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    const assetPath = props.assetPath ?? CONSOLE_DIST_DIR;
    if (!existsSync(join(assetPath, 'index.html'))) {
      throw new Error(`Console: ${assetPath} holds no built console; run \`npm run build:console\` first`);
    }
    const region = Stack.of(this).region;

    const logs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // CloudFront standard logging writes with an ACL grant, which needs object writer ownership.
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket of the console; logging its own access would log into itself' });

    this.bucket = new Bucket(this, 'Site', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'bucket/',
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const hostedDomain = props.signInDomain.baseUrl();

    const apiHost = Fn.select(2, Fn.split('/', props.api.graphqlUrl));
    const realtimeHost = Fn.select(2, Fn.split('/', props.api.realtimeUrl));
    const headers = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'IoT fleet console: strict CSP and security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          override: true,
          contentSecurityPolicy: [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            // The API, its real-time endpoint, and the user pool's OIDC and token endpoints.
            `connect-src 'self' https://${apiHost} wss://${realtimeHost} https://cognito-idp.${region}.amazonaws.com ${hostedDomain}`,
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            'upgrade-insecure-requests',
          ].join('; '),
        },
        strictTransportSecurity: { override: true, accessControlMaxAge: Duration.days(730), includeSubdomains: true, preload: true },
        contentTypeOptions: { override: true },
        frameOptions: { override: true, frameOption: HeadersFrameOption.DENY },
        referrerPolicy: { override: true, referrerPolicy: HeadersReferrerPolicy.NO_REFERRER },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'IoT fleet console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        responseHeadersPolicy: headers,
        compress: true,
      },
      // The app routes in the browser: a path with no object (403 from a private bucket) is the app.
      errorResponses: [403, 404].map((httpStatus) => ({ httpStatus, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.seconds(0) })),
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'Operators may work from any country; sign-in, not geography, decides who gets in' },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'The distribution serves only public static files; every request for data goes to AppSync, which has its own authorization and limits, and a CLOUDFRONT web ACL must live in us-east-1 while this stack is region-agnostic',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason: 'The default *.cloudfront.net certificate has a fixed security policy that CloudFront does not let a distribution raise; pinning TLSv1.2 needs a custom domain and an ACM certificate, which this region-agnostic stack does not own',
      },
    );

    this.registerSignInUrls(props.userPoolClient);

    const config: ConsoleRuntimeConfig = {
      auth: 'cognito',
      graphqlUrl: props.api.graphqlUrl,
      realtimeProtocol: 'appsync',
      realtimeUrl: props.api.realtimeUrl,
      region,
      cognito: {
        authority: `https://cognito-idp.${region}.amazonaws.com/${props.userPool.userPoolId}`,
        userPoolId: props.userPool.userPoolId,
        clientId: props.userPoolClient.userPoolClientId,
        domain: hostedDomain,
      },
    };
    // Hashed assets first and kept (prune: false), so a page loaded before a deploy still finds
    // its scripts; then index.html and config.json, never cached, and invalidated at the edge.
    const assets = new BucketDeployment(this, 'DeployAssets', {
      destinationBucket: this.bucket,
      sources: [Source.asset(assetPath, { exclude: [...CONSOLE_UNCACHED_FILES] })],
      cacheControl: [CacheControl.setPublic(), CacheControl.maxAge(Duration.days(365)), CacheControl.immutable()],
      prune: false,
      memoryLimit: 512,
    });
    const entry = new BucketDeployment(this, 'DeployEntry', {
      destinationBucket: this.bucket,
      sources: [Source.asset(assetPath, { exclude: ['*', ...CONSOLE_UNCACHED_FILES.map((f) => `!${f}`)] }), Source.jsonData(CONSOLE_CONFIG_PATH.slice(1), config)],
      cacheControl: [CacheControl.noCache()],
      prune: false,
      distribution: this.distribution,
      distributionPaths: ['/', ...CONSOLE_UNCACHED_FILES.map((f) => `/${f}`)],
      memoryLimit: 512,
    });
    entry.node.addDependency(assets);
    // Both deployments run in the CDK's one shared copy function, outside this construct.
    const copier = assets.handlerRole.node.scope as LambdaFunction;
    this.deployFunction = copier;
    const siteArn = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnResource);
    const copyWildcards = (what: string) => `The CDK's bucket-deployment function copies the console between buckets with ${what}, as a prefix copy needs`;
    Validations.of(assets.handlerRole).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "The CDK's bucket-deployment function, a deploy-time helper and not platform code, writes its own logs with the basic execution role",
      },
      ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: copyWildcards(`${action} on the CDK asset bucket and the console bucket only`),
      })),
      { id: `AwsSolutions-IAM5[Resource::<${siteArn}.Arn>/*]`, reason: copyWildcards('every object of the console bucket (it replaces the whole site)') },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
        reason: copyWildcards('reads of the CDK bootstrap asset bucket, where the console zip is uploaded'),
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "The CDK's bucket-deployment function creates and waits for CloudFront invalidations of index.html and config.json; the CDK grants those two actions on every distribution",
      },
    );
    Validations.of(copier.node.defaultChild!).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The CDK pins the runtime of its own bucket-deployment function, which runs only while a deployment copies the site',
    });

    new CfnOutput(Stack.of(this), 'ConsoleUrl', { value: this.url, description: 'The web console (sign in with a user of the user pool)' });
  }

  /**
   * Adds the console's URL to the app client's callback and sign-out URLs (keeping any others,
   * such as a developer's), with the code flow only: PKCE on a public client, no implicit flow.
   */
  private registerSignInUrls(client: UserPoolClient): void {
    const cfn = client.node.defaultChild as CfnUserPoolClient;
    const home = `${this.url}/`;
    const keep = (urls: unknown): string[] => (Array.isArray(urls) ? urls.filter((u): u is string => typeof u === 'string' && u !== CDK_PLACEHOLDER_CALLBACK) : []);
    cfn.callbackUrLs = [...keep(cfn.callbackUrLs), home];
    cfn.logoutUrLs = [...keep(cfn.logoutUrLs), home];
    cfn.allowedOAuthFlows = ['code'];
    cfn.allowedOAuthFlowsUserPoolClient = true;
    cfn.allowedOAuthScopes = [...new Set([...CONSOLE_OAUTH_SCOPES, ...keep(cfn.allowedOAuthScopes)])];
    cfn.supportedIdentityProviders = ['COGNITO'];
  }
}
