/**
 * Acknowledged means durable: `iotctl local` as a child process on a data directory, a real
 * MQTT client publishing QoS 1 telemetry at 25 msg/s and registry writes going on, then
 * SIGKILL mid-load. After a restart on the same directory every PUBACKed (thing, seq) is
 * readable through the GraphQL telemetry query, the stats equal a recount of the registry, and
 * no device is ONLINE without a session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { recountStats, statsOf } from '../../../src/adapters/dynamodb/stats-rebuild.js';
import { connectLocalRegistry } from '../../../src/cli/commands/device.js';
import { connectDevice, eventually, localPlatformProcesses } from './local-process.js';

const RATE_PER_SECOND = 30;
const LOAD_MS = 4_000;

async function telemetrySeqs(graphqlUrl: string, token: string, deviceId: string, from: number): Promise<Set<number>> {
  const seqs = new Set<number>();
  let nextToken: string | null = null;
  do {
    const response = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({
        query: 'query($d: ID!, $f: AWSDateTime!, $t: AWSDateTime!, $n: String) { telemetry(deviceId: $d, metric: "seq", from: $f, to: $t, limit: 1000, nextToken: $n) { items { numberValue } nextToken } }',
        variables: { d: deviceId, f: new Date(from).toISOString(), t: new Date(Date.now() + 60_000).toISOString(), n: nextToken },
      }),
    });
    const body = (await response.json()) as { data?: { telemetry: { items: Array<{ numberValue: number }>; nextToken: string | null } }; errors?: unknown };
    if (!body.data) throw new Error(`telemetry query failed: ${JSON.stringify(body.errors)}`);
    for (const item of body.data.telemetry.items) seqs.add(item.numberValue);
    nextToken = body.data.telemetry.nextToken;
  } while (nextToken);
  return seqs;
}

describe('iotctl local after SIGKILL', () => {
  const platforms = localPlatformProcesses();
  afterEach(() => platforms.cleanup());

  it('keeps every PUBACKed reading, exact stats and no device ONLINE without a session', async () => {
    // Prepare
    const dataDir = platforms.tempDir('iotctl-sigkill-');
    const first = await platforms.start(dataDir);
    const { dynamodb, mqttPort } = first;
    const bundle = await first.createDevice('crash-test');
    const thing = bundle.manifest.thingName;
    const client = await connectDevice(bundle, mqttPort);
    client.on('error', () => undefined);
    const registry = connectLocalRegistry(dynamodb);
    const startedAt = Date.now();
    const acknowledged: number[] = [];
    const createdIds: string[] = [];

    // Act: telemetry at 25 msg/s and registry creates, then SIGKILL while both are in flight
    let seq = 0;
    // Keeps pace with the clock, so a timer that slips on a loaded machine does not lower the rate.
    const publisher = setInterval(() => {
      while (seq < ((Date.now() - startedAt) * RATE_PER_SECOND) / 1000) {
        seq += 1;
        const mine = seq;
        client
          .publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 1, ts: startedAt + mine, seq: mine, metrics: { seq: mine } }), { qos: 1 })
          .then(() => acknowledged.push(mine))
          .catch(() => undefined);
      }
    }, 10);
    const creator = (async () => {
      for (let i = 0; Date.now() < startedAt + LOAD_MS + 2_000; i += 1) {
        try {
          createdIds.push((await registry.registry.create({ name: `created ${i}`, type: 'crash' })).id);
        } catch {
          return; // the platform is gone
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
    const onlineBeforeKill = (await registry.registry.get(thing))?.status;
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    clearInterval(publisher);
    await creator;
    client.end(true);
    registry.close();
    const rate = (seq * 1000) / LOAD_MS;

    const second = await platforms.start(dataDir);
    const { graphqlUrl } = second;
    const token = await second.token('operator', 'admin');
    const after = connectLocalRegistry(second.dynamodb);

    // Assess
    try {
      expect(killed.signal).toBe('SIGKILL');
      // The crash strands the device ONLINE: no disconnect event is ever emitted for it.
      expect(onlineBeforeKill).toBe('ONLINE');
      expect(rate).toBeGreaterThanOrEqual(20);
      expect(acknowledged.length).toBeGreaterThan(0);
      // Every PUBACKed seq is readable (the replayed stream is delivered in its batches).
      let stored = new Set<number>();
      await eventually(
        async () => {
          stored = await telemetrySeqs(graphqlUrl, token, thing, startedAt);
          return acknowledged.every((s) => stored.has(s));
        },
        60_000,
        'every acknowledged reading',
      );
      expect(acknowledged.filter((s) => !stored.has(s))).toEqual([]);
      // Every acknowledged create is in the registry, and the counters equal a recount.
      for (const id of createdIds) expect(await after.registry.get(id)).toBeDefined();
      await eventually(
        async () => JSON.stringify(await after.registry.stats()) === JSON.stringify(statsOf(await recountStats(after.doc, after.tables.devices))),
        30_000,
        'stats equal to a recount',
      );
      // Nobody is ONLINE without a session: the device's connection died with the process.
      await eventually(async () => (await after.registry.list({ limit: 100, status: 'ONLINE' })).items.length === 0, 30_000, 'no ONLINE device');
      const device = await after.registry.get(thing);
      expect(device?.status, JSON.stringify(device)).toBe('OFFLINE');
      expect(second.output()).toContain(`presence: ${thing} set OFFLINE (CONNECTION_LOST)`);
    } finally {
      after.close();
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 240_000);
});
