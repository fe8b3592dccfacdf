import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../src/ports/dead-letter.js';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import { deadLetterFile } from '../../src/local/iot-core/local-iot-core.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { provisionLocalDevice } from '../../src/provisioning/local-provisioner.js';
import { connectBundle } from '../local/iot-core/mqtt-device.js';
import { waitFor } from '../support/wait-for.js';

const TELEMETRY = `query T($deviceId: ID!, $metric: String!, $from: AWSDateTime!, $to: AWSDateTime!) {
  telemetry(deviceId: $deviceId, metric: $metric, from: $from, to: $to, limit: 1000) { items { timestamp numberValue } } }`;

describe('version-2 telemetry messages on the local platform', () => {
  let dataDir: string;
  let platform: LocalPlatform;
  let admin: string;

  const gql = async (query: string, variables: Record<string, unknown>) => {
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: admin },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  const letters = (): DeadLetter[] =>
    existsSync(deadLetterFile(dataDir))
      ? readFileSync(deadLetterFile(dataDir), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as DeadLetter)
      : [];

  beforeAll(async () => {
    process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
    dataDir = mkdtempSync(join(tmpdir(), 'telemetry-points-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    admin = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'] });
  });

  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    delete process.env.INGEST_BATCH_WINDOW_SECONDS;
  });

  it('stores the good points of a message and dead-letters each bad point alone with its reason and index, beside an unchanged version-1 message', async () => {
    // Prepare
    const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    const { bundle } = await provisionLocalDevice(
      { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } },
      { name: 'batching sensor', type: 'v2-sensor' },
    );
    const id = bundle.manifest.thingName;
    const device = await connectBundle(platform.endpoints.mqtt!, bundle);
    const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const points = [
      { ts: base + 1000, seq: 11, metrics: { temperature: 21 } },
      { ts: base + 2000, seq: 12, metrics: { temperature: 'x'.repeat(2000) } },
      { ts: base + 3000, seq: 13, metrics: { temperature: 23 } },
      { ts: base + 4000, seq: -1, metrics: { temperature: 24 } },
      { ts: base + 5000, seq: 15, metrics: { temperature: 25 } },
      { ts: base + 6000, seq: 13, metrics: { temperature: 26 } },
    ];

    // Act
    await device.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 2, points }), { qos: 1 });
    await device.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 1, ts: base + 7000, seq: 17, metrics: { temperature: 27 } }), { qos: 1 });
    await device.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 2, points: [] }), { qos: 1 });
    const range = { deviceId: id, metric: 'temperature', from: new Date(base).toISOString(), to: new Date(base + 10_000).toISOString() };
    const stored = await waitFor(async () => {
      const items = (await gql(TELEMETRY, range)).data?.telemetry.items as { timestamp: string; numberValue: number }[] | undefined;
      return items && items.length >= 4 ? items : undefined;
    }, 'the good points');
    const mine = await waitFor(() => {
      const found = letters().filter((l) => l.thingName === id);
      return found.length >= 4 ? found : undefined;
    }, 'the dead letters');
    await device.endAsync();

    // Assess
    expect(stored.map((p) => p.numberValue)).toEqual([21, 23, 25, 27]);
    expect(mine.map((l) => [l.reason, l.pointIndex]).sort()).toEqual([
      ['DUPLICATE_SEQUENCE', 5],
      ['INVALID_SEQUENCE', 3],
      ['NO_POINTS', undefined],
      ['STRING_TOO_LONG', 1],
    ].sort());
    const frame = mine.find((l) => l.reason === 'NO_POINTS')!;
    expect(JSON.parse(Buffer.from(frame.payload, 'base64').toString('utf8'))).toEqual({ v: 2, points: [] });
    const point = mine.find((l) => l.reason === 'STRING_TOO_LONG')!;
    expect(point.detail).toMatch(/^point 1: /);
    expect(JSON.parse(Buffer.from(point.payload, 'base64').toString('utf8')).points).toHaveLength(6);
    expect((await platform.registry.get(id)).readings).toEqual({ temperature: 27 });
  });
});
