import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildPlatformStack } from './stack-helper.js';

describe('GrpcAccess', () => {
  const { template } = buildPlatformStack();

  it('creates the devices resource server with the read and write scopes', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'devices',
      Scopes: [
        { ScopeName: 'read', ScopeDescription: Match.anyValue() },
        { ScopeName: 'write', ScopeDescription: Match.anyValue() },
      ],
    });
  });

  it('creates one internal app client with a secret, the client-credentials grant and both scopes, and outputs its id', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ClientName: 'internal-services',
      GenerateSecret: true,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: [
        { 'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('DevicesResourceServer') }, '/read']] },
        { 'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('DevicesResourceServer') }, '/write']] },
      ],
      AccessTokenValidity: 60,
    });
    template.hasOutput('GrpcInternalClientId', { Value: { Ref: Match.stringLikeRegexp('InternalClient') } });
    template.hasOutput('TokenEndpoint', Match.anyValue());
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
  });

  it("accepts the web client's and the internal client's access tokens in the gRPC task", () => {
    const tasks = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const env = (tasks[0]!.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>).find((e) => e.Name === 'ACCESS_TOKEN_CLIENT_IDS');
    expect(JSON.stringify(env!.Value)).toMatch(/WebClient.*InternalClient/);
  });
});
