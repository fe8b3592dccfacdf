import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DYNAMODB_CLIENT_LIMITS } from '../../src/grpc/config.js';
import type { DeviceRepository } from '../../src/ports/device-repository.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/local/dynamodb/dynalite.js';
import { call, startTestServer, waitFor, type TestServer } from './helpers.js';

const MISSING_ID = '77777777-7777-4777-8777-777777777777';

describe('work left over by a cancelled call', () => {
  let t: TestServer | undefined;
  let blackhole: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    await t?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => (blackhole ? blackhole.close(() => r()) : r()));
    [t, blackhole] = [undefined, undefined];
  });

  it('is one DynamoDB request that the service client limits end, even when DynamoDB never answers', async () => {
    // Prepare: a "DynamoDB" that accepts connections and never answers, behind the service's client limits.
    let connections = 0;
    blackhole = createServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => blackhole!.listen(0, '127.0.0.1', r));
    const doc = createDocumentClient({
      endpoint: `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      ...DYNAMODB_CLIENT_LIMITS,
    });
    const dynamo = new DynamoDbDeviceRepository(doc, 'Devices');
    let leftover: 'pending' | 'resolved' | 'rejected' = 'pending';
    t = await startTestServer({
      wrapRepository: (memory): DeviceRepository => ({
        create: (device) => memory.create(device),
        list: (query) => memory.list(query),
        update: (...args) => memory.update(...args),
        delete: (...args) => memory.delete(...args),
        get: (id) =>
          dynamo.get(id).then(
            (device) => ((leftover = 'resolved'), device),
            (error: unknown) => {
              leftover = 'rejected';
              throw error;
            },
          ),
      }),
    });

    // The TLS handshake happens before the 200 ms deadline starts, so the call reaches the repository.
    await call(t.client, 'getDeviceStats', {});

    // Act
    const { error } = await call(t.client, 'getDevice', { id: MISSING_ID }, { deadline: Date.now() + 200 });
    const pendingAtDeadline = leftover;
    const ended = await waitFor(() => leftover !== 'pending', 'the abandoned DynamoDB request to end', 20_000).then(
      () => true,
      () => false,
    );

    // Assess
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(pendingAtDeadline).toBe('pending');
    expect(ended).toBe(true);
    expect(leftover).toBe('rejected');
    expect(connections).toBe(DYNAMODB_CLIENT_LIMITS.maxAttempts);
    expect(t.logs.filter((l) => l.method === 'GetDevice').map((l) => l.code)).toEqual(['DEADLINE_EXCEEDED']);
  }, 30_000);
});
