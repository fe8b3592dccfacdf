import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { OAuthScope, ResourceServerScope, type IUserPool, type UserPoolClient, type UserPoolDomain, type UserPoolResourceServer } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { DEVICES_RESOURCE_SERVER, DEVICES_SCOPE_NAMES } from '../src/contracts/grpc-access.js';

/** Props of {@link GrpcAccess}. */
export interface GrpcAccessProps {
  /** The user pool whose access tokens the gRPC service accepts (the API's). */
  readonly userPool: IUserPool;
  /**
   * Prefix of the Cognito domain that serves the token endpoint (client-credentials grant).
   * @default - the `authDomainPrefix` context flag, else `<stack name>-<account id>` lowercased
   */
  readonly domainPrefix?: string;
  /**
   * Lifetime of the internal client's access tokens.
   * @default Duration.minutes(60)
   */
  readonly accessTokenValidity?: Duration;
}

/**
 * How internal services get tokens for the gRPC DeviceService: a resource server `devices` with
 * the scopes `read` and `write`, one internal app client allowed the client-credentials grant with
 * both scopes (its secret stays in Cognito: `aws cognito-idp describe-user-pool-client`), and the
 * Cognito domain whose /oauth2/token endpoint issues the tokens.
 */
export class GrpcAccess extends Construct {
  public readonly resourceServer: UserPoolResourceServer;
  public readonly internalClient: UserPoolClient;
  public readonly domain: UserPoolDomain;
  /** https://.../oauth2/token */
  public readonly tokenEndpoint: string;

  constructor(scope: Construct, id: string, props: GrpcAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const read = new ResourceServerScope({ scopeName: DEVICES_SCOPE_NAMES.read, scopeDescription: 'Read devices and watch their changes' });
    const write = new ResourceServerScope({ scopeName: DEVICES_SCOPE_NAMES.write, scopeDescription: 'Create, update and delete devices' });
    this.resourceServer = props.userPool.addResourceServer('DevicesResourceServer', {
      identifier: DEVICES_RESOURCE_SERVER,
      userPoolResourceServerName: 'IoT platform devices',
      scopes: [read, write],
    });
    const contextPrefix: unknown = this.node.tryGetContext('authDomainPrefix');
    if (contextPrefix !== undefined && (typeof contextPrefix !== 'string' || !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(contextPrefix))) {
      throw new Error(`Invalid context flag authDomainPrefix=${JSON.stringify(contextPrefix)}: use lowercase letters, digits and hyphens (1-63)`);
    }
    const domainPrefix = props.domainPrefix ?? (contextPrefix as string | undefined) ?? `${stack.stackName.toLowerCase()}-${stack.account}`;
    this.domain = props.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix } });
    this.internalClient = props.userPool.addClient('InternalClient', {
      userPoolClientName: 'internal-services',
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { clientCredentials: true },
        scopes: [OAuthScope.resourceServer(this.resourceServer, read), OAuthScope.resourceServer(this.resourceServer, write)],
      },
      accessTokenValidity: props.accessTokenValidity ?? Duration.minutes(60),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });
    this.tokenEndpoint = `${this.domain.baseUrl()}/oauth2/token`;

    new CfnOutput(stack, 'GrpcInternalClientId', {
      value: this.internalClient.userPoolClientId,
      description: 'App client of internal gRPC callers (client-credentials grant, scopes devices/read devices/write); its secret: aws cognito-idp describe-user-pool-client',
    });
    new CfnOutput(stack, 'TokenEndpoint', { value: this.tokenEndpoint, description: 'Cognito OAuth2 token endpoint (client-credentials grant)' });
  }
}
