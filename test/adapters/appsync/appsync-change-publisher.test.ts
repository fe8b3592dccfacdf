import { AlarmService } from '../../../src/alarms/alarm-service.js';
import { InMemoryAlarmStore } from '../../../src/adapters/memory/in-memory-alarm-store.js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppSyncChangePublisher } from '../../../src/adapters/appsync/appsync-change-publisher.js';
import { InMemoryDeviceRepository } from '../../../src/adapters/memory/in-memory-device-repository.js';
import { InMemoryStats } from '../../../src/adapters/memory/in-memory-stats.js';
import type { DeviceChange } from '../../../src/domain/device-change.js';
import { DeviceRegistry } from '../../../src/domain/device-registry.js';
import { UnavailableError } from '../../../src/domain/errors.js';
import { createPageTokenCodec } from '../../../src/domain/page-token.js';
import { startLocalGraphqlServer, type LocalGraphqlServer } from '../../../src/local/appsync/local-server.js';
import { LocalTokenIssuer } from '../../../src/local/appsync/local-token-issuer.js';
import { keepAlivePost, type Post } from '../../../src/adapters/appsync/keep-alive-post.js';
import { createResolverHandler } from '../../../src/graphql/resolver-handler.js';
import { UNUSED_COMMANDS, UNUSED_TWINS } from '../../graphql/unused-control.js';
import { TelemetryHistory } from '../../../src/domain/telemetry-history.js';

const now = '2026-05-01T12:00:00.000Z';
const change = (): DeviceChange => {
  const id = randomUUID();
  return {
    changeType: 'UPDATED',
    changedAt: now,
    sequence: '1',
    device: {
      id, name: 'Meter', type: 'meter', status: 'ONLINE', createdAt: now, updatedAt: now, lastSeen: now,
      metadata: { site: 'berlin' }, version: 2, readings: { kwh: 12.5, on: true, mode: 'eco' },
    },
  };
};

describe('AppSyncChangePublisher against the local server', () => {
  let server: LocalGraphqlServer;

  beforeAll(async () => {
    const pageTokens = createPageTokenCodec('publisher-test-secret-0123456789');
    server = await startLocalGraphqlServer({
      resolver: createResolverHandler({
        commands: UNUSED_COMMANDS,
        twins: UNUSED_TWINS,
        registry: new DeviceRegistry({ repository: new InMemoryDeviceRepository(), stats: new InMemoryStats(), pageTokens }),
        telemetry: new TelemetryHistory({ reader: { query: async () => ({ items: [] }), rollups: async () => ({ items: [] }) }, pageTokens }),
        alarms: new AlarmService({ store: new InMemoryAlarmStore(), pageTokens, devices: new InMemoryDeviceRepository() }),
      }),
      issuer: await LocalTokenIssuer.ephemeral(),
      port: 0,
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('signs publishDeviceUpdate with SigV4 so that deviceUpdated subscribers of that id receive the whole change', async () => {
    // Prepare
    const published = change();
    const forId = server.hub.subscribe(['publishDeviceUpdate'], { id: published.device.id });
    const forOther = server.hub.subscribe(['publishDeviceUpdate'], { id: randomUUID() });
    const publisher = new AppSyncChangePublisher({ url: server.url, region: server.region, credentials: server.iamCredentials });

    // Act
    await publisher.publish(published);
    const received = await forId.next();
    server.hub.publish('publishDeviceUpdate', { id: 'marker' });

    // Assess
    expect(received.value).toEqual({
      id: published.device.id,
      changeType: 'UPDATED',
      changedAt: now,
      sequence: '1',
      device: {
        id: published.device.id, name: 'Meter', type: 'meter', status: 'ONLINE', createdAt: now, updatedAt: now, lastSeen: now, version: 2, twinVersion: null,
        metadata: [{ key: 'site', value: 'berlin' }],
        readings: [
          { metric: 'kwh', numberValue: 12.5, booleanValue: null, stringValue: null },
          { metric: 'on', numberValue: null, booleanValue: true, stringValue: null },
          { metric: 'mode', numberValue: null, booleanValue: null, stringValue: 'eco' },
        ],
      },
    });
    expect(server.hub.size).toBe(2);
    await forId.return!();
    await forOther.return!();
  });

  it('sends a telemetry batch in one compact mutation to telemetryUpdated, and only watched devices one by one to deviceUpdated', async () => {
    // Prepare
    const quiet = change();
    const watched = { ...change(), sequence: '7', watched: true };
    const all = server.hub.subscribe(['publishTelemetryBatch'], {});
    const single = server.hub.subscribe(['publishDeviceUpdate'], { id: watched.device.id });
    const unwatched = server.hub.subscribe(['publishDeviceUpdate'], { id: quiet.device.id });
    const posts: string[] = [];
    const post = keepAlivePost();
    const counting: Post = (url, headers, body) => {
      posts.push(body);
      return post(url, headers, body);
    };
    const publisher = new AppSyncChangePublisher({ url: server.url, region: server.region, credentials: server.iamCredentials, post: counting });

    // Act
    await publisher.publishTelemetryBatch([quiet, watched]);
    const batch = await all.next();
    const one = await single.next();
    server.hub.publish('publishDeviceUpdate', { id: quiet.device.id, marker: true });
    const none = await unwatched.next();

    // Assess
    expect(posts).toHaveLength(2);
    expect(batch.value).toEqual({
      items: [
        { id: quiet.device.id, sequence: '1', lastSeen: now, readings: { kwh: 12.5, on: true, mode: 'eco' } },
        { id: watched.device.id, sequence: '7', lastSeen: now, readings: { kwh: 12.5, on: true, mode: 'eco' } },
      ],
    });
    expect(one.value).toMatchObject({ id: watched.device.id, sequence: '7', device: { readings: expect.any(Array) } });
    expect(none.value).toEqual({ id: quiet.device.id, marker: true });
    for (const iterator of [all, single, unwatched]) await iterator.return!();
  });

  it('fails with UnavailableError and delivers nothing when the secret is wrong or the body was changed after signing', async () => {
    // Prepare
    const published = change();
    const listener = server.hub.subscribe(['publishDeviceUpdate'], {});
    const wrongSecret = new AppSyncChangePublisher({
      url: server.url, region: server.region, credentials: { ...server.iamCredentials, secretAccessKey: 'guessed' },
    });
    const post = keepAlivePost();
    const tampering: Post = (url, headers, body) => post(url, headers, body.replace('"Meter"', '"Hijacked"'));
    const tampered = new AppSyncChangePublisher({ url: server.url, region: server.region, credentials: server.iamCredentials, post: tampering });

    // Act
    const results = await Promise.allSettled([wrongSecret.publish(published), tampered.publish(published)]);
    server.hub.publish('publishDeviceUpdate', { id: 'marker' });
    const first = await listener.next();

    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const result of results) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(UnavailableError);
      expect(String((result as PromiseRejectedResult).reason.message)).toMatch(/HTTP 401.*UnauthorizedException/);
    }
    expect(first.value).toEqual({ id: 'marker' });
    await listener.return!();
  });
});
