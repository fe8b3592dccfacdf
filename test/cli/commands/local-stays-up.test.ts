/**
 * "npm start comes up and stays up": `iotctl local` as a real child process on a persistent
 * (temporary) data directory and OS-picked ports, kept up for about 10 s while every endpoint it
 * prints is used for real (DynamoDB, GraphQL with a token from `iotctl token`, an MQTT
 * mutual-TLS session of a device provisioned by `iotctl device create`, the gRPC health check),
 * then stopped with SIGTERM.
 */
import * as grpc from '@grpc/grpc-js';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { service as healthService } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../src/local/dynamodb/dynalite.js';
import type { DeviceBundle } from '../../../src/provisioning/device-bundle.js';
import { call, newClient } from '../../grpc/helpers.js';
import { connectDevice, localPlatformProcesses } from './local-process.js';

/** How long the platform is kept up and used before it is stopped. */
const UP_FOR_MS = 10_000;
// Platform + three CLI child processes + the 10 s: CI-sized timeout.
const TEST_TIMEOUT_MS = 120_000;

async function listTables(endpoint: string): Promise<string[]> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

async function graphqlStats(url: string, token: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: token },
    body: JSON.stringify({ query: '{ stats { total } }' }),
  });
  return { status: response.status, body: await response.json() };
}

/** Connects with the device's certificate, publishes one reading at QoS 1 (acknowledged) and disconnects. */
async function deviceSession(bundle: DeviceBundle, port: number): Promise<void> {
  const client = await connectDevice(bundle, port);
  try {
    await client.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 1, ts: Date.now(), seq: Date.now(), metrics: { temperature: 21 } }), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

function grpcHealth(address: string, caPem: string): Promise<string | undefined> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(address, grpc.credentials.createSsl(Buffer.from(caPem)));
  const check = client.check as unknown as (
    request: { service: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ) => void;
  return new Promise((resolve, reject) =>
    check.call(client, { service: '' }, { deadline: Date.now() + 5_000 }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response?.status);
    }),
  );
}

describe('iotctl local (npm start)', () => {
  const platforms = localPlatformProcesses();
  afterEach(() => platforms.cleanup());

  it('comes up on a data directory, serves all four endpoints for real while it stays up, and exits 0 on SIGTERM', async () => {
    // Prepare: the platform as `npm start` runs it, but on a temporary data dir and free ports.
    const platform = await platforms.start(platforms.tempDir('iotctl-stays-up-'));
    const { child, exited, dynamodb, graphqlUrl, mqttPort, grpcAddress } = platform;
    const token = await platform.token('operator', 'admin');
    const bundle = await platform.createDevice('stays-up');
    const caPem = bundle.caCertificatePem;

    // Act: use every endpoint, round after round, for about 10 s.
    const rounds: Array<{ tables: string[]; graphql: unknown; health: string | undefined }> = [];
    const until = Date.now() + UP_FOR_MS;
    while (Date.now() < until) {
      const [tables, graphql, , health] = await Promise.all([listTables(dynamodb), graphqlStats(graphqlUrl, token), deviceSession(bundle, mqttPort), grpcHealth(grpcAddress, caPem)]);
      rounds.push({ tables, graphql, health });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    // The same `iotctl token` output is accepted by the gRPC door too (TLS with the local CA).
    const grpcClient = newClient(grpcAddress, { caPem, as: { token } });
    const grpcStats = await call(grpcClient, 'getDeviceStats', {});
    grpcClient.close();
    const stillRunning = child.exitCode === null && child.signalCode === null;
    child.kill('SIGTERM');
    const exit = await exited;

    // Assess
    expect(rounds.length).toBeGreaterThanOrEqual(3);
    for (const round of rounds) {
      expect(round.tables).toEqual(expect.arrayContaining(['iot-Devices', 'iot-Stats', 'iot-Telemetry']));
      expect(round.graphql).toEqual({ status: 200, body: { data: { stats: { total: expect.any(Number) } } } });
      expect(round.health).toBe('SERVING');
    }
    expect(grpcStats.error).toBeNull();
    const output = platform.output();
    expect(output).toMatch(/grpc: GetDeviceStats OK caller=[0-9a-f-]{36} /);
    expect(output).not.toContain(token);
    expect(stillRunning, output).toBe(true);
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(output).toContain('[local] stopped');
  }, TEST_TIMEOUT_MS);
});
