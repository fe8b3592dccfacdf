/**
 * Global setup of the console's component tests: an ephemeral local platform in this Node
 * process, two devices, and tokens of its issuer, handed to the happy-dom tests by `inject`.
 */
import type { TestProject } from 'vitest/node';
import { LocalTokenIssuer } from '../../../src/local/appsync/local-token-issuer.js';
import { startLocalPlatform } from '../../../src/local/platform.js';
import './provided-context.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const platform = await startLocalPlatform({ ephemeral: true, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
  const issuer = await LocalTokenIssuer.forProcess();
  const device = await platform.registry.create({ name: 'Component probe', type: 'probe', metadata: { site: 'lab' } });
  await platform.registry.create({ name: 'Second probe', type: 'probe', status: 'MAINTENANCE' });
  const graphqlUrl = platform.endpoints.graphql!;
  project.provide('consoleApi', {
    graphqlUrl,
    realtimeUrl: graphqlUrl.replace(/^http/, 'ws'),
    adminToken: await issuer.issue({ user: 'alice', groups: ['admin'] }),
    viewerToken: await issuer.issue({ user: 'victor', groups: ['viewer'] }),
    expiredToken: await issuer.issue({ user: 'late', groups: ['admin'], expiresIn: '-1m' }),
    deviceId: device.id,
    iamCredentials: { accessKeyId: platform.graphqlIamCredentials.accessKeyId, secretAccessKey: platform.graphqlIamCredentials.secretAccessKey },
  });
  return () => platform.stop();
}
