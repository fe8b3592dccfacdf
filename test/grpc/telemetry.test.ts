import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceServiceClient } from '../../src/generated/proto/iot/device/v1/DeviceService.js';
import type { GetTelemetryRequest } from '../../src/generated/proto/iot/device/v1/GetTelemetryRequest.js';
import type { GetTelemetryResponse__Output } from '../../src/generated/proto/iot/device/v1/GetTelemetryResponse.js';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { connect, provisionDevice, waitFor } from '../commands/local-devices.js';
import { newClient } from './helpers.js';

const HOUR = 3_600_000;
const ts = (ms: number) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });

describe('GetTelemetry on the local platform', () => {
  let dataDir: string;
  let platform: LocalPlatform;
  let client: DeviceServiceClient;
  const get = (request: GetTelemetryRequest) =>
    new Promise<GetTelemetryResponse__Output>((resolve, reject) => client.GetTelemetry(request, (error, response) => (error ? reject(error) : resolve(response!))));

  beforeAll(async () => {
    process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
    dataDir = mkdtempSync(join(tmpdir(), 'grpc-telemetry-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    const token = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'grpc-viewer', groups: ['viewer'], tokenUse: 'access' });
    client = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token } });
  });

  afterAll(async () => {
    client?.close();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    delete process.env.INGEST_BATCH_WINDOW_SECONDS;
  });

  it('returns readings at RAW and min, max, avg, count and last per bucket at HOUR, a redelivered message counted once', async () => {
    // Prepare: readings of two hours ago (their hour already closed), one message sent twice.
    const bundle = await provisionDevice(platform, dataDir, 'grpc-telemetry');
    const device = await connect(platform, bundle);
    const hour = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const message = { v: 2, points: [{ ts: hour + 1000, seq: 1, metrics: { t: 1.5 } }, { ts: hour + 2000, seq: 2, metrics: { t: 'high' } }, { ts: hour + 3000, seq: 3, metrics: { t: 4.5 } }] };

    // Act
    for (let i = 0; i < 2; i += 1) await device.client.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify(message), { qos: 1 });
    await device.client.endAsync();
    const range = { deviceId: device.id, metric: 't', from: ts(hour), to: ts(hour + HOUR) };
    const raw = await waitFor(async () => {
      const page = await get({ ...range, resolution: 'TELEMETRY_RESOLUTION_RAW' });
      return page.samples.length === 3 ? page : undefined;
    }, 'the readings', 60_000);
    const hourly = await get({ ...range, resolution: 'TELEMETRY_RESOLUTION_HOUR' });

    // Assess
    expect(raw.samples.map((s) => [s.seq, s.value?.value === 'numberValue' ? s.value.numberValue : s.value?.stringValue])).toEqual([
      ['1', 1.5],
      ['2', 'high'],
      ['3', 4.5],
    ]);
    expect(raw.buckets).toEqual([]);
    expect(hourly.samples).toEqual([]);
    expect(hourly.buckets).toHaveLength(1);
    expect(hourly.buckets[0]).toMatchObject({ start: { seconds: String(hour / 1000) }, count: '3', min: 1.5, max: 4.5, avg: 3 });
    expect(hourly.buckets[0]!.last).toMatchObject({ value: 'numberValue', numberValue: 4.5 });
  }, 90_000);

  it('refuses a missing time range and an unknown resolution with INVALID_ARGUMENT', async () => {
    const missing = await get({ deviceId: 'x', metric: 't', to: ts(Date.now()) }).catch((e: ServiceError) => e);
    const unknown = await get({ deviceId: 'x', metric: 't', from: ts(0), to: ts(1000), resolution: 9 as never }).catch((e: ServiceError) => e);
    expect((missing as ServiceError).code).toBe(Status.INVALID_ARGUMENT);
    expect((missing as ServiceError).details).toMatch(/from/);
    expect((unknown as ServiceError).code).toBe(Status.INVALID_ARGUMENT);
  }, 90_000);
});
