import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { register } from '../../../src/cli/commands/ingest.js';
import { TELEMETRY_TABLE } from '../../../src/contracts/tables.js';
import { LocalTokenIssuer } from '../../../src/local/appsync/local-token-issuer.js';
import { createTableInput } from '../../../src/local/dynamodb/create-table-input.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../src/local/dynamodb/dynalite.js';
import { ingestFailureDir } from '../../../src/local/event-source-mapping/failure-destination.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { connect, provisionDevice, waitFor } from '../../commands/local-devices.js';
import { useCleanups } from '../../support/cleanups.js';

async function replay(args: string[]): Promise<{ out: string[]; err: string[]; code: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('iotctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program, (line) => out.push(line), (line) => err.push(line));
  process.exitCode = undefined;
  await program.parseAsync(['node', 'iotctl', 'ingest', 'replay', ...args]);
  const code = process.exitCode as number | undefined;
  process.exitCode = undefined;
  return { out, err, code };
}

/** Every reading of `metric` the telemetry query returns, as `seq:value`. */
async function readings(platform: LocalPlatform, token: string, deviceId: string, from: number): Promise<string[]> {
  const response = await fetch(platform.endpoints.graphql!, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: token },
    body: JSON.stringify({
      query: 'query($d: ID!, $f: AWSDateTime!, $t: AWSDateTime!) { telemetry(deviceId: $d, metric: "t", from: $f, to: $t, limit: 1000) { items { timestamp numberValue } } }',
      variables: { d: deviceId, f: new Date(from).toISOString(), t: new Date(Date.now() + 60_000).toISOString() },
    }),
  });
  const body = (await response.json()) as { data?: { telemetry: { items: Array<{ timestamp: string; numberValue: number }> } }; errors?: unknown };
  if (!body.data) throw new Error(`telemetry query failed: ${JSON.stringify(body.errors)}`);
  return body.data.telemetry.items.map((item) => `${item.timestamp}=${item.numberValue}`);
}

describe('iotctl ingest replay (local)', () => {
  const cleanups = useCleanups();

  it('replays the ranges given up on while the telemetry table was gone, exactly once per reading however often it runs', async () => {
    // Prepare: a device publishes over MQTT while its readings cannot be stored, until the event source gives up
    const dataDir = mkdtempSync(join(tmpdir(), 'iotctl-replay-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS, ingestRetry: { attempts: 1, baseMs: 10 } });
    cleanups.push(() => platform.stop());
    const token = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'] });
    const device = await connect(platform, await provisionDevice(platform, dataDir, 'replayed sensor'));
    cleanups.push(() => device.end());
    const dynamodb = new DynamoDBClient({ endpoint: platform.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    cleanups.push(() => dynamodb.destroy());
    await dynamodb.send(new DeleteTableCommand({ TableName: platform.tables.telemetry }));
    const from = Date.now() - 1000;
    const published = [1, 2, 3, 4, 5].map((seq) => ({ v: 1, seq, ts: from + seq, metrics: { t: seq * 10 } }));
    for (const message of published) await device.client.publishAsync(`dt/iot/${device.id}/telemetry`, JSON.stringify(message), { qos: 1 });
    const failures = ingestFailureDir(dataDir);
    const givenUp = () => readdirSync(failures).filter((name) => name.endsWith('.json')).length;
    await waitFor(() => {
      try {
        return givenUp() === published.length || undefined;
      } catch {
        return undefined;
      }
    }, 'the event source to give up on every record', 60_000);
    await dynamodb.send(new CreateTableCommand(createTableInput(TELEMETRY_TABLE, platform.tables.telemetry)));
    await waitFor(async () => (await dynamodb.send(new DescribeTableCommand({ TableName: platform.tables.telemetry }))).Table?.TableStatus === 'ACTIVE' || undefined, 'the table');
    expect(await readings(platform, token, device.id, from)).toEqual([]);
    const saved = mkdtempSync(join(tmpdir(), 'iotctl-replay-saved-'));
    cleanups.push(() => rmSync(saved, { recursive: true, force: true }));
    cpSync(failures, saved, { recursive: true });
    const local = ['--data-dir', dataDir, '--endpoint', platform.dynamodbEndpoint];

    // Act: replay, then again with the same messages (as if the first run died before its deletes)
    const first = await replay(local);
    const afterFirst = await readings(platform, token, device.id, from);
    const leftAfterFirst = givenUp();
    cpSync(saved, failures, { recursive: true });
    const second = await replay(local);
    const afterSecond = await readings(platform, token, device.id, from);

    // Assess
    expect(first.err).toEqual([]);
    expect(first.code).toBeUndefined();
    expect(first.out.at(-1)).toBe('replayed 5 records = stored 5 + dead-lettered 0 + failed 0');
    expect(first.out.slice(0, -1)).toHaveLength(5);
    for (const line of first.out.slice(0, -1)) expect(line).toMatch(/^shardId-000000000000 \d+\.\.\d+ \(1 record\(s\)\): 1 sent, 0 failed; message deleted$/);
    expect(leftAfterFirst).toBe(0);
    const expected = published.map((m) => `${new Date(m.ts).toISOString()}=${m.metrics.t}`);
    expect(afterFirst).toEqual(expected);
    expect(second.out.at(-1)).toBe('replayed 5 records = stored 5 + dead-lettered 0 + failed 0');
    expect(afterSecond).toEqual(expected);
    expect(givenUp()).toBe(0);
  }, 120_000);

  it('says a range aged out of the stream, keeps its message unless told to drop it, and exits non-zero', async () => {
    // Prepare: a failure message naming records the local stream never held (or no longer holds)
    const dataDir = mkdtempSync(join(tmpdir(), 'iotctl-replay-expired-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
    cleanups.push(() => platform.stop());
    const failures = ingestFailureDir(dataDir);
    rmSync(failures, { recursive: true, force: true });
    const message = {
      requestContext: { requestId: 'r-1', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:local-ingest', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: '49650000000000000000000000000000000000000000000000000000100',
        endSequenceNumber: '49650000000000000000000000000000000000000000000000000000200',
        batchSize: 3,
        streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/local-ingest',
      },
    };
    mkdirSync(failures, { recursive: true });
    writeFileSync(join(failures, '000000000000001-aged.json'), JSON.stringify(message));
    writeFileSync(join(failures, '000000000000002-presence.json'), JSON.stringify({ requestContext: { condition: 'RetriesExhausted' }, requestPayload: {} }));
    const local = ['--data-dir', dataDir, '--endpoint', platform.dynamodbEndpoint];

    // Act
    const kept = await replay(local);
    const remaining = readdirSync(failures).sort();
    const dropped = await replay([...local, '--drop-expired']);

    // Assess
    expect(kept.code).toBe(1);
    expect(kept.out[0]).toMatch(/^shardId-000000000000 \d+\.\.\d+ \(3 record\(s\)\): .*passed the retention; message kept \(--drop-expired deletes it\)$/);
    expect(kept.out.at(-1)).toBe('replayed 0 records = stored 0 + dead-lettered 0 + failed 0; 1 range(s) aged out of the stream, 1 other message(s) left in the queue');
    expect(remaining).toEqual(['000000000000001-aged.json', '000000000000002-presence.json']);
    expect(dropped.code).toBeUndefined();
    expect(dropped.out[0]).toMatch(/message deleted \(--drop-expired\)$/);
    expect(readdirSync(failures)).toEqual(['000000000000002-presence.json']);
  }, 60_000);
});
