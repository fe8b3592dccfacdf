import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DynamoDbDeviceRepository } from '../../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore } from '../../../src/adapters/dynamodb/stats-store.js';
import { register } from '../../../src/cli/commands/stats.js';
import { padSequence } from '../../../src/domain/change-sequence.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { startDynamoFixture, type DynamoFixture } from '../../adapters/dynamodb/dynamo-fixture.js';
import { testDevice } from '../../domain/test-device.js';
import { useCleanups } from '../../support/cleanups.js';

async function run(args: string[]): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program, (line) => out.push(line), (line) => err.push(line));
  await program.parseAsync(['node', 'iotctl', 'stats', ...args]);
  return { out, err };
}

/** An HTTP proxy in front of dynalite that records each request's operation and body, as AWS would receive it. */
async function recordingProxy(upstream: string): Promise<{ url: string; requests: Array<{ operation: string; body: Record<string, unknown> }>; server: Server }> {
  const target = new URL(upstream);
  const requests: Array<{ operation: string; body: Record<string, unknown> }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ operation: String(req.headers['x-amz-target'] ?? '').replace('DynamoDB_20120810.', ''), body: JSON.parse(body.toString() || '{}') });
      const upstreamRequest = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 500, upstreamResponse.headers);
        upstreamResponse.pipe(res);
      });
      upstreamRequest.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

describe('iotctl stats rebuild', () => {
  const cleanups = useCleanups();

  it('recounts a local platform whose counters drifted, and GraphQL serves the recount', async () => {
    // Prepare
    const platform: LocalPlatform = await startLocalPlatform({ ephemeral: true, ports: ANY_FREE_PORTS });
    cleanups.push(() => platform.stop());
    for (let i = 0; i < 4; i += 1) await platform.registry.create({ name: `dev ${i}`, type: 'meter' });
    await platform.changeFeed.flush();
    // A counter the change feed never saw: stats now say 5.
    await new DynamoDbStatsStore(platform.doc, platform.tables.stats).apply({
      changeType: 'CREATED',
      device: testDevice('00000000-0000-4000-8000-00000000dead', { type: 'meter' }),
      changedAt: 'x',
      sequence: padSequence(1),
    });
    expect((await platform.registry.stats()).total).toBe(5);

    // Act
    const { out, err } = await run(['rebuild', '--endpoint', platform.dynamodbEndpoint]);

    // Assess
    expect(err).toEqual([]);
    expect(out[0]).toBe('before: total 5, UNKNOWN 4, OFFLINE 1, type meter 5');
    expect(out[1]).toBe('after:  total 4, UNKNOWN 4, type meter 4');
    expect(out[2]).toBe('corrected 1 ledger shard(s)');
    expect(await platform.registry.stats()).toMatchObject({ total: 4, byType: { meter: 4 } });
  });

  it('--target aws sends only index queries, reads and conditional updates to the named tables', async () => {
    // Prepare
    const fixture: DynamoFixture = await startDynamoFixture();
    cleanups.push(() => fixture.stop());
    const repository = new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable);
    await repository.create(testDevice('00000000-0000-4000-8000-000000000001', { status: 'ONLINE' }));
    await repository.create(testDevice('00000000-0000-4000-8000-000000000002'));
    const proxy = await recordingProxy(fixture.endpoint);
    cleanups.push(() => new Promise((resolve) => proxy.server.close(resolve)));
    const saved = { ...process.env };
    cleanups.push(() => {
      process.env = saved;
    });
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: proxy.url, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });

    // Act
    const { out, err } = await run(['rebuild', '--target', 'aws', '--devices-table', fixture.devicesTable, '--stats-table', fixture.statsTable]);

    // Assess
    expect(err).toEqual([]);
    expect(out[1]).toBe('after:  total 2, ONLINE 1, OFFLINE 1, type sensor 2');
    const operations = new Set(proxy.requests.map((r) => r.operation));
    expect([...operations].sort()).toEqual(['BatchGetItem', 'GetItem', 'Query', 'UpdateItem']);
    const queries = proxy.requests.filter((r) => r.operation === 'Query').map((r) => r.body);
    expect(queries.map((q) => (q.ExpressionAttributeValues as Record<string, { S: string }>)[':status']!.S)).toEqual(['UNKNOWN', 'ONLINE', 'OFFLINE', 'ERROR', 'MAINTENANCE']);
    expect(queries.every((q) => q.TableName === fixture.devicesTable && q.IndexName === 'byStatus' && q.ProjectionExpression === 'id, #type')).toBe(true);
    const updates = proxy.requests.filter((r) => r.operation === 'UpdateItem').map((r) => r.body);
    expect(updates.every((u) => u.TableName === fixture.statsTable)).toBe(true);
    const ledgerUpdates = updates.filter((u) => (u.Key as { pk: { S: string } }).pk.S.startsWith('ledger#'));
    expect(ledgerUpdates.length).toBeGreaterThan(0);
    expect(ledgerUpdates.every((u) => /#rev = :rev|attribute_not_exists\(#rev\)/.test(String(u.ConditionExpression)))).toBe(true);
    expect(proxy.requests.filter((r) => r.operation !== 'Query').every((r) => JSON.stringify(r.body).includes(fixture.statsTable))).toBe(true);
  });

  it('--target aws without the table names says which stack outputs it needs', async () => {
    // Act
    const { err } = await run(['rebuild', '--target', 'aws']);

    // Assess
    expect(err).toEqual(['iotctl stats rebuild: --target aws needs --devices-table and --stats-table (the DevicesTableName and StatsTableName stack outputs)']);
    expect(process.exitCode).toBe(1);
  });
});

