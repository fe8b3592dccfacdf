import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SUBSCRIPTION_STARTED_FIELD } from '../../../src/contracts/live-updates.js';
import { call, newClient } from '../../grpc/helpers.js';
import { CREATE, UPDATE, startGraphqlHarness, type GraphqlHarness } from '../../graphql/helpers.js';

const SUBSCRIBE = `subscription S($id: ID) { deviceUpdated(id: $id) { id changeType changedAt device { id name status version lastSeen } } }`;

interface Received {
  id: string;
  changeType: string;
  device: { id: string; name: string; status: string; version: number; lastSeen: string | null };
}

/** A live deviceUpdated subscription over graphql-ws that records what it receives. */
interface Watcher {
  readonly received: Received[];
  readonly errors: unknown[];
  until(predicate: (received: Received[]) => boolean): Promise<void>;
  /** What arrived, without the probe changes. */
  changes(): Received[];
  stop(): void;
}

function watch(client: Client, id: string | null): Watcher {
  const received: Received[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  const stop = client.subscribe<{ deviceUpdated: Received }>(
    { query: SUBSCRIBE, variables: { id } },
    {
      next: (message) => {
        if (message.errors) errors.push(...message.errors);
        if (message.data?.deviceUpdated) received.push(message.data.deviceUpdated);
        waiters.splice(0).forEach((w) => w());
      },
      error: (error) => {
        errors.push(error);
        waiters.splice(0).forEach((w) => w());
      },
      complete: () => {},
    },
  );
  return {
    received,
    errors,
    changes: () => received.filter((c) => !c.device.name.startsWith('probe-')),
    until: async (predicate) => {
      while (!predicate(received) && errors.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    stop,
  };
}

describe('deviceUpdated subscriptions', () => {
  let h: GraphqlHarness;
  let client: Client;

  function connect(token: string | undefined): Client {
    return createClient({
      url: h.realtimeUrl,
      webSocketImpl: WebSocket,
      connectionParams: token ? { Authorization: token } : {},
      retryAttempts: 0,
      lazy: true,
    });
  }

  /**
   * Changes a probe device until every watcher has seen one: from then on each watcher is live
   * (the started-subscription ping says so too, see below). Probe changes are left out of the
   * assertions.
   */
  async function prime(watchers: Watcher[], probeId: string): Promise<void> {
    for (let n = 0; !watchers.every((w) => w.received.some((c) => c.device.name.startsWith('probe-'))); n++) {
      if (n > 100) throw new Error('subscriptions never became live');
      await h.platform.registry.update({ id: probeId, name: `probe-${n}` });
      await h.platform.changeFeed.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeAll(async () => {
    h = await startGraphqlHarness();
    client = connect(h.viewerToken);
  });

  afterAll(async () => {
    await client?.dispose();
    await h?.stop();
  });

  it('delivers a GraphQL update and a domain core write to the device subscriber exactly once each, and nothing of other devices', async () => {
    // Prepare
    const device = (await h.gql(CREATE, { input: { name: 'Pump', type: 'pump' } })).data!.createDevice;
    const other = (await h.gql(CREATE, { input: { name: 'Other', type: 'pump' } })).data!.createDevice;
    await h.platform.changeFeed.flush();
    const mine = watch(client, device.id);
    const all = watch(client, null);
    await prime([mine, all], device.id);

    // Act
    await h.gql(UPDATE, { input: { id: device.id, name: 'Pump (GraphQL)' } });
    await h.gql(UPDATE, { input: { id: other.id, name: 'Other (GraphQL)' } });
    await h.platform.registry.update({ id: device.id, status: 'MAINTENANCE' });
    await h.platform.changeFeed.flush();
    // A last change after everything else: once it arrives, any duplicate would have arrived before it.
    await h.platform.registry.update({ id: device.id, name: 'sentinel' });
    await mine.until((r) => r.some((c) => c.device.name === 'sentinel'));
    await all.until((r) => r.some((c) => c.device.name === 'sentinel'));

    // Assess
    expect(mine.errors).toEqual([]);
    expect(mine.changes().map((c) => [c.id, c.changeType, c.device.name, c.device.status])).toEqual([
      [device.id, 'UPDATED', 'Pump (GraphQL)', 'UNKNOWN'],
      [device.id, 'UPDATED', 'Pump (GraphQL)', 'MAINTENANCE'],
      [device.id, 'UPDATED', 'sentinel', 'MAINTENANCE'],
    ]);
    expect(all.changes().map((c) => c.device.name)).toEqual(['Pump (GraphQL)', 'Other (GraphQL)', 'Pump (GraphQL)', 'sentinel']);
    expect(new Set(mine.changes().map((c) => c.device.version)).size).toBe(3);
    mine.stop();
    all.stop();
  });

  it('pings a subscription’s id once it listens, so a change made right after the ping reaches it', async () => {
    // Prepare: a client that records the started-subscription pings it receives.
    const device = (await h.gql(CREATE, { input: { name: 'Announced', type: 'pump' } })).data!.createDevice;
    await h.platform.changeFeed.flush();
    const pinged: unknown[] = [];
    let wake = () => {};
    const announcing = createClient({
      url: h.realtimeUrl,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: h.viewerToken },
      retryAttempts: 0,
      generateID: () => 'watch-announced',
      on: { ping: (received, payload) => void (received && pinged.push(payload), wake()) },
    });
    const mine = watch(announcing, device.id);
    while (pinged.length === 0) await new Promise<void>((resolve) => (wake = resolve));

    // Act: one change, with no probe before it.
    await h.gql(UPDATE, { input: { id: device.id, name: 'Announced, then renamed' } });
    await mine.until((r) => r.some((c) => c.device.name === 'Announced, then renamed'));

    // Assess
    expect(pinged).toEqual([{ [SUBSCRIPTION_STARTED_FIELD]: 'watch-announced' }]);
    expect(mine.errors).toEqual([]);
    expect(mine.received.map((c) => c.device.name)).toEqual(['Announced, then renamed']);
    mine.stop();
    await announcing.dispose();
  });

  it('refuses a subscription connection without a valid token', async () => {
    // Prepare
    const anonymous = connect(undefined);
    const forged = connect(`${h.viewerToken.slice(0, -6)}AAAAAA`);

    // Act
    const results = await Promise.all(
      [anonymous, forged].map(
        (c) =>
          new Promise<string>((resolve) => {
            c.subscribe({ query: SUBSCRIBE }, { next: () => resolve('data'), error: (e) => resolve(String((e as { code?: number }).code ?? e)), complete: () => resolve('complete') });
          }),
      ),
    );

    // Assess
    expect(results).toEqual(['4403', '4403']);
    await anonymous.dispose();
    await forged.dispose();
  });

  it('delivers a device created after subscribing to an all-devices subscriber with the CREATED type', async () => {
    // Prepare
    const probe = (await h.gql(CREATE, { input: { name: 'probe-0', type: 'pump' } })).data!.createDevice;
    const all = watch(client, null);
    await prime([all], probe.id);
    const name = `new-${randomUUID().slice(0, 8)}`;

    // Act
    const created = (await h.gql(CREATE, { input: { name, type: 'pump' } })).data!.createDevice;
    await all.until((r) => r.some((c) => c.id === created.id));

    // Assess
    expect(all.received.filter((c) => c.id === created.id).map((c) => c.changeType)).toEqual(['CREATED']);
    all.stop();
  });

  it('delivers a change made through the gRPC door to a GraphQL subscriber once', async () => {
    // Prepare
    const device = (await h.gql(CREATE, { input: { name: 'Heater', type: 'heater' } })).data!.createDevice;
    await h.platform.changeFeed.flush();
    const mine = watch(client, device.id);
    await prime([mine], device.id);
    const grpcClient = newClient(h.platform.endpoints.grpc!, { caPem: h.platform.caCertificatePem });

    // Act
    const { error } = await call(grpcClient, 'updateDevice', { device: { id: device.id, name: 'Heater (gRPC)' }, updateMask: { paths: ['name'] } });
    await h.platform.changeFeed.flush();
    await h.platform.registry.update({ id: device.id, name: 'sentinel' });
    await mine.until((r) => r.some((c) => c.device.name === 'sentinel'));
    grpcClient.close();

    // Assess
    expect(error).toBeNull();
    expect(mine.changes().map((c) => c.device.name)).toEqual(['Heater (gRPC)', 'sentinel']);
    mine.stop();
  });
});
