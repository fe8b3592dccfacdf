import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { provisionLocalDevice } from '../../src/provisioning/local-provisioner.js';
import { connectBundle } from '../local/iot-core/mqtt-device.js';
import { waitFor } from '../support/wait-for.js';

const TELEMETRY = `query T($deviceId: ID!, $metric: String!, $from: AWSDateTime!, $to: AWSDateTime!, $resolution: TelemetryResolution, $nextToken: String, $limit: Int) {
  telemetry(deviceId: $deviceId, metric: $metric, from: $from, to: $to, limit: $limit, resolution: $resolution, nextToken: $nextToken) {
    items { timestamp numberValue stringValue }
    buckets { start count min max avg last { numberValue booleanValue stringValue } }
    nextToken
  } }`;

/** Rollups are recomputed after ingest: room for a loaded machine. */
const ROLLUP_WAIT_MS = 60_000;
const HOUR = 3_600_000;

describe('telemetry rollups through GraphQL on the local platform', () => {
  let dataDir: string;
  let platform: LocalPlatform;
  let viewer: string;

  const gql = async (variables: Record<string, unknown>) => {
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: viewer },
      body: JSON.stringify({ query: TELEMETRY, variables }),
    });
    return (await response.json()) as { data?: any; errors?: Array<{ message: string; errorType?: string }> };
  };

  beforeAll(async () => {
    process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
    dataDir = mkdtempSync(join(tmpdir(), 'telemetry-rollups-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    viewer = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'watcher', groups: ['viewer'] });
  });

  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    delete process.env.INGEST_BATCH_WINDOW_SECONDS;
  });

  it('returns min, max, avg, count and last per minute, hour and day, with late, out-of-order and redelivered readings counted once', async () => {
    // Prepare: a device sending readings of hours ago (late, the hours already closed), out of order, one message twice.
    const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    const { bundle } = await provisionLocalDevice(
      { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } },
      { name: 'rollup sensor', type: 'rollup-sensor' },
    );
    const id = bundle.manifest.thingName;
    const device = await connectBundle(platform.endpoints.mqtt!, bundle);
    const hour = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const first = { v: 2, points: [
      { ts: hour + 61_000, seq: 3, metrics: { t: 30 } },
      { ts: hour + 1_000, seq: 1, metrics: { t: 10 } },
      { ts: hour + 2_000, seq: 2, metrics: { t: 20, mode: 'eco' } },
    ] };
    const later = { v: 2, points: [{ ts: hour + HOUR + 5_000, seq: 4, metrics: { t: 40 } }, { ts: hour + 30_000, seq: 5, metrics: { t: 5 } }] };

    // Act
    for (const message of [first, later, first]) await device.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify(message), { qos: 1 });
    await device.endAsync();
    const range = { deviceId: id, metric: 't', from: new Date(hour).toISOString(), to: new Date(hour + 2 * HOUR).toISOString() };
    await waitFor(async () => ((await gql({ ...range, resolution: 'RAW' })).data?.telemetry.items.length === 5 ? true : undefined), 'the raw readings', ROLLUP_WAIT_MS);
    const hours = await waitFor(async () => {
      const page = (await gql({ ...range, resolution: 'HOUR' })).data?.telemetry;
      return page?.buckets.length === 2 && page.buckets[0].count === 4 ? page : undefined;
    }, 'the hour buckets', ROLLUP_WAIT_MS);
    const minutes = (await gql({ ...range, resolution: 'MINUTE' })).data.telemetry;
    const days = (await gql({ ...range, resolution: 'DAY' })).data.telemetry;
    const modes = (await gql({ ...range, metric: 'mode', resolution: 'HOUR' })).data.telemetry;

    // Assess
    const num = (n: number) => ({ numberValue: n, booleanValue: null, stringValue: null });
    expect(hours.items).toEqual([]);
    expect(hours.buckets).toEqual([
      { start: new Date(hour).toISOString(), count: 4, min: 5, max: 30, avg: 16.25, last: num(30) },
      { start: new Date(hour + HOUR).toISOString(), count: 1, min: 40, max: 40, avg: 40, last: num(40) },
    ]);
    expect(minutes.buckets).toEqual([
      { start: new Date(hour).toISOString(), count: 3, min: 5, max: 20, avg: 35 / 3, last: num(5) },
      { start: new Date(hour + 60_000).toISOString(), count: 1, min: 30, max: 30, avg: 30, last: num(30) },
      { start: new Date(hour + HOUR).toISOString(), count: 1, min: 40, max: 40, avg: 40, last: num(40) },
    ]);
    const dayStart = hour - (hour % (24 * HOUR));
    const sameDay = hour + HOUR < dayStart + 24 * HOUR;
    expect(days.buckets[0]).toMatchObject({ start: new Date(dayStart).toISOString(), count: sameDay ? 5 : 4 });
    expect(modes.buckets).toEqual([{ start: new Date(hour).toISOString(), count: 1, min: null, max: null, avg: null, last: { numberValue: null, booleanValue: null, stringValue: 'eco' } }]);
  }, 90_000);

  it('pages buckets with a token bound to the resolution, and refuses an unknown resolution', async () => {
    // Prepare
    const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    const { bundle } = await provisionLocalDevice(
      { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } },
      { name: 'paged sensor', type: 'rollup-sensor' },
    );
    const id = bundle.manifest.thingName;
    const device = await connectBundle(platform.endpoints.mqtt!, bundle);
    const start = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const points = Array.from({ length: 5 }, (_, i) => ({ ts: start + i * 60_000, seq: i + 1, metrics: { t: i } }));
    await device.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 2, points }), { qos: 1 });
    await device.endAsync();
    const range = { deviceId: id, metric: 't', from: new Date(start).toISOString(), to: new Date(start + HOUR).toISOString(), limit: 2 };
    await waitFor(async () => ((await gql({ ...range, limit: 10, resolution: 'RAW' })).data?.telemetry.items.length === 5 ? true : undefined), 'the readings', ROLLUP_WAIT_MS);

    // Act
    const pages: any[] = [];
    let nextToken: string | null = null;
    do {
      const page: any = (await gql({ ...range, resolution: 'MINUTE', ...(nextToken && { nextToken }) })).data.telemetry;
      pages.push(page);
      nextToken = page.nextToken;
    } while (nextToken);
    const firstToken = pages[0].nextToken ?? (await gql({ ...range, resolution: 'MINUTE' })).data.telemetry.nextToken;
    const crossed = await gql({ ...range, resolution: 'HOUR', nextToken: firstToken });
    const unknown = await gql({ ...range, resolution: 'WEEK' });

    // Assess
    expect(pages.flatMap((p) => p.buckets.map((b: { count: number; last: { numberValue: number } }) => b.last.numberValue))).toEqual([0, 1, 2, 3, 4]);
    expect(pages.map((p) => p.buckets.length)).toEqual([2, 2, 1]);
    expect(crossed.errors?.[0]?.errorType).toBe('ValidationError');
    expect(unknown.errors?.[0]?.message).toMatch(/WEEK/);
  }, 90_000);
});
