/**
 * The events Lambda's own module, composed at import as at a cold start, on real dynalite with
 * stream records from the local change capture: every batch flushes Powertools metrics
 * (CloudWatch EMF on stdout) with the records received and the failures reported back.
 */
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, DynamoDBBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceRepository } from '../../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../../src/adapters/dynamodb/stats-store.js';
import { DEVICES_TABLE } from '../../../src/contracts/tables.js';
import { DeviceRegistry } from '../../../src/domain/device-registry.js';
import { createPageTokenCodec } from '../../../src/domain/page-token.js';
import { capturedTables, startChangeCapture, type ChangeCapture } from '../../../src/local/dynamodb/change-capture.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../src/local/dynamodb/dynalite.js';
import { startDynamoFixture, type DynamoFixture } from '../../adapters/dynamodb/dynamo-fixture.js';
import { emittedMetrics } from '../emitted-metrics.js';
import { lambdaContext } from '../lambda-context.js';

describe('events Lambda metrics', () => {
  let fixture: DynamoFixture;
  let capture: ChangeCapture;
  let handler: (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;
  const records: DynamoDBRecord[] = [];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    capture = await startChangeCapture({
      upstream: fixture.endpoint,
      tables: capturedTables([DEVICES_TABLE], { Devices: fixture.devicesTable }),
      onRecord: (record) => records.push(record),
    });
    Object.assign(process.env, {
      STATS_TABLE_NAME: fixture.statsTable,
      AWS_ENDPOINT_URL: fixture.endpoint,
      AWS_REGION: LOCAL_REGION,
      // As the Lambda runtime sets it for an on-demand function (Powertools tells cold starts by it).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      POWERTOOLS_METRICS_NAMESPACE: 'IotPlatformTest',
      POWERTOOLS_SERVICE_NAME: 'events',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    ({ handler } = await import('../../../lambdas/events/index.js'));
  });
  afterAll(async () => {
    process.env = savedEnv;
    await capture?.stop();
    await fixture?.stop();
  });

  it('counts the records of each batch and the failures it reports back', async () => {
    // Prepare: three real stream records, and one without a sequence number (it cannot be applied).
    const doc = createDocumentClient({ endpoint: capture.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const registry = new DeviceRegistry({
      repository: new DynamoDbDeviceRepository(doc, fixture.devicesTable),
      stats: new DynamoDbStatsStore(doc, fixture.statsTable),
      pageTokens: createPageTokenCodec('events-metrics-test-secret-0123456789'),
    });
    for (const name of ['a', 'b', 'c']) await registry.create({ name, type: 'sensor' });
    doc.destroy();
    const { SequenceNumber: _sequence, ...unsequenced } = records[0]!.dynamodb!;
    const broken: DynamoDBRecord = { ...records[0]!, eventID: 'broken', dynamodb: unsequenced };

    // Act
    const good = await emittedMetrics(() => handler({ Records: records.slice(0, 3) }, lambdaContext('events')));
    const bad = await emittedMetrics(() => handler({ Records: [broken] }, lambdaContext('events')));

    // Assess
    expect(records).toHaveLength(3);
    // The first invocation of an execution environment also records the cold start.
    expect(good).toEqual([{ ColdStart: 1 }, { ChangeRecords: 3, ChangeBatchItemFailures: 0 }]);
    expect(bad).toEqual([{ ChangeRecords: 1, ChangeBatchItemFailures: 1 }]);
  });
});
