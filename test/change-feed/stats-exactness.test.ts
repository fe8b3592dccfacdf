/**
 * End to end on real dynalite: registry writes go through the local change capture (the
 * Streams stand-in) in front of dynalite; the captured stream records are handed to the
 * events Lambda's own handler module with some records delivered twice; the counters must
 * equal a ground truth counted from the Devices table through its index.
 */
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { DEVICES_TABLE } from '../../src/contracts/tables.js';
import { DEVICE_STATUSES, type Device, type DeviceStatus } from '../../src/domain/device.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { NotFoundError } from '../../src/domain/errors.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import { capturedTables, startChangeCapture, type ChangeCapture } from '../../src/local/dynamodb/change-capture.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../src/local/dynamodb/dynalite.js';
import { startDynamoFixture, type DynamoFixture } from '../adapters/dynamodb/dynamo-fixture.js';
import { lambdaContext } from '../lambdas/lambda-context.js';

const TYPES = ['sensor', 'gateway', 'camera'];
const STATUSES: DeviceStatus[] = ['ONLINE', 'OFFLINE', 'ERROR', 'MAINTENANCE'];

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
}

describe('stats counters through the events Lambda', () => {
  let fixture: DynamoFixture;
  let capture: ChangeCapture;
  let handler: (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;
  const records: DynamoDBRecord[] = [];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    const dynaliteUrl = fixture.endpoint;
    capture = await startChangeCapture({
      upstream: dynaliteUrl,
      tables: capturedTables([DEVICES_TABLE], { Devices: fixture.devicesTable }),
      onRecord: (record) => records.push(record),
    });
    // The Lambda module reads its configuration at import, as it does at a cold start.
    Object.assign(process.env, {
      STATS_TABLE_NAME: fixture.statsTable,
      AWS_ENDPOINT_URL: dynaliteUrl,
      AWS_REGION: LOCAL_REGION,
      // As the Lambda runtime sets it for an on-demand function (Powertools tells cold starts by it).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    ({ handler } = await import('../../lambdas/events/index.js'));
  });
  afterAll(async () => {
    process.env = savedEnv;
    await capture.stop();
    await fixture.stop();
  });

  it('are exact after 200 concurrent mixed writes with some stream records delivered twice', async () => {
    // Prepare: a registry whose writes go through the change capture.
    const doc = createDocumentClient({ endpoint: capture.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const stats = new DynamoDbStatsStore(doc, fixture.statsTable);
    const registry = new DeviceRegistry({
      repository: new DynamoDbDeviceRepository(doc, fixture.devicesTable),
      stats,
      pageTokens: createPageTokenCodec('stats-exactness-secret-0123456789'),
    });
    const next = random(42);
    const seeded = await Promise.all(
      Array.from({ length: 60 }, (_, i) => registry.create({ name: `seed ${i}`, type: TYPES[i % 3]!, status: STATUSES[i % 4]! })),
    );

    // Act: 200 concurrent creates, status/type updates and deletes.
    const operations = Array.from({ length: 200 }, (_, i) => {
      const target = seeded[next(seeded.length)]!.id;
      switch (next(4)) {
        case 0:
          return registry.create({ name: `new ${i}`, type: TYPES[next(3)]!, status: STATUSES[next(4)]! });
        case 1:
          return registry.update({ id: target, status: STATUSES[next(4)]! });
        case 2:
          return registry.update({ id: target, type: TYPES[next(3)]!, status: STATUSES[next(4)]! });
        default:
          return registry.delete(target);
      }
    });
    const outcomes = await Promise.allSettled(operations);
    // Deliver in batches of 25; every third batch is delivered twice, and every batch also
    // carries again the last 5 records of the batch before (a retried tail).
    let deliveries = 0;
    let redelivered = 0;
    for (let start = 0; start < records.length; start += 25) {
      const batch = [...records.slice(Math.max(0, start - 5), start), ...records.slice(start, start + 25)];
      redelivered += Math.min(start, 5);
      const times = (start / 25) % 3 === 0 ? 2 : 1;
      for (let t = 0; t < times; t++) {
        const response = await handler({ Records: batch }, lambdaContext('events'));
        expect(response.batchItemFailures).toEqual([]);
        deliveries++;
      }
      if (times === 2) redelivered += batch.length;
    }

    // Assess
    const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    expect(failures.every((e) => e instanceof NotFoundError)).toBe(true);
    expect(records.length).toBeGreaterThan(200);
    expect(redelivered).toBeGreaterThan(50);
    const truth = await groundTruth(registry);
    const counted = await stats.read();
    expect(counted.total).toBe(truth.length);
    expect(counted.byStatus).toEqual(Object.fromEntries(DEVICE_STATUSES.map((s) => [s, truth.filter((d) => d.status === s).length])));
    expect(counted.byType).toEqual(
      Object.fromEntries(TYPES.map((t) => [t, truth.filter((d) => d.type === t).length]).filter(([, n]) => n !== 0)),
    );
    expect(deliveries).toBeGreaterThan(records.length / 25);
    doc.destroy();
    // Every write crosses the capture proxy and every record two projector writes: generous on a shared 2-core box.
  }, 120_000);
});

/** Every device, read page by page through the byCreated index (no Scan). */
async function groundTruth(registry: DeviceRegistry): Promise<Device[]> {
  const devices: Device[] = [];
  let pageToken: string | undefined;
  do {
    const page = await registry.list({ limit: 100, ...(pageToken && { pageToken }) });
    devices.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return devices;
}
