import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceServiceClient } from '../../src/grpc/proto.js';
import { RPC_RIGHTS } from '../../src/grpc/rpc-access.js';
import { newClient, startTestServer, type As, type TestServer } from './helpers.js';

type Rpc = Extract<keyof typeof RPC_RIGHTS, string>;
const definition = (DeviceServiceClient as unknown as { service: Record<Rpc, { responseStream: boolean }> }).service;
const RPCS = Object.keys(RPC_RIGHTS) as Rpc[];
const lowerFirst = (rpc: string) => rpc[0]!.toLowerCase() + rpc.slice(1);

/** The status one RPC ends with for `client`, called with an empty request; a stream that starts counts as OK and is cancelled. */
function statusOf(client: grpc.Client, rpc: Rpc): Promise<grpc.status> {
  const method = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[lowerFirst(rpc)]!.bind(client);
  return new Promise((resolve) => {
    if (!definition[rpc].responseStream) {
      method({}, (error: grpc.ServiceError | null) => resolve(error?.code ?? grpc.status.OK));
      return;
    }
    const stream = method({}) as grpc.ClientReadableStream<unknown>;
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.on('metadata', () => {
      stream.cancel();
      resolve(grpc.status.OK);
    });
    stream.on('status', (s: grpc.StatusObject) => resolve(s.code));
  });
}

describe('every DeviceService RPC holds callers to its right', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function statuses(as: As): Promise<Record<Rpc, grpc.status>> {
    const client = newClient(t.server.address, { as }) as unknown as grpc.Client;
    try {
      const codes = await Promise.all(RPCS.map(async (rpc) => [rpc, await statusOf(client, rpc)] as const));
      return Object.fromEntries(codes) as Record<Rpc, grpc.status>;
    } finally {
      client.close();
    }
  }

  it.each<[As, 'read' | 'write']>([
    ['viewer', 'read'],
    ['reader', 'read'],
    ['writer', 'write'],
  ])('%s gets PERMISSION_DENIED on every RPC outside its %s right (commands, twin and alarms included), and reaches the handler of the others', async (as, right) => {
    // Prepare
    const before = await t.repository.list({ limit: 100 });

    // Act
    const codes = await statuses(as);

    // Assess
    const refused = RPCS.filter((rpc) => RPC_RIGHTS[rpc] !== right);
    expect(refused.length).toBeGreaterThan(5);
    expect(Object.fromEntries(refused.map((rpc) => [rpc, codes[rpc]]))).toEqual(Object.fromEntries(refused.map((rpc) => [rpc, grpc.status.PERMISSION_DENIED])));
    for (const rpc of RPCS.filter((r) => RPC_RIGHTS[r] === right)) {
      expect([grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED], `${rpc} as ${String(as)}`).not.toContain(codes[rpc]);
    }
    expect((await t.repository.list({ limit: 100 })).items.length).toBe(before.items.length);
  });

  it('lists the commands, twin and alarm writes as writes', () => {
    // Assess
    for (const rpc of ['SendCommand', 'CancelCommand', 'UpdateDesiredState', 'CreateAlarmRule', 'UpdateAlarmRule', 'DeleteAlarmRule', 'AcknowledgeAlarm', 'SnoozeAlarm', 'DisableAlarm', 'EnableAlarm'] as const) {
      expect(RPC_RIGHTS[rpc]).toBe('write');
    }
  });
});
