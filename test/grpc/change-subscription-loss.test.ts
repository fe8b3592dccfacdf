import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { IotMqttMessageBus } from '../../src/adapters/iot/iot-mqtt-message-bus.js';
import type { DeviceChange } from '../../src/domain/device-change.js';
import { changeTopic } from '../../src/contracts/topics.js';
import { subscribeToChanges, type BusChangeSource } from '../../src/grpc/message-bus-change-source.js';
import { DEVICE_SERVICE_NAME } from '../../src/grpc/proto.js';
import { startWsBroker, waitFor, type WsBroker } from '../adapters/iot/ws-broker.js';
import { healthClient, once, startTestServer, type TestServer, watchChanges } from './helpers.js';
import { silentLogger } from '../support/recording-logger.js';

const ID = '66666666-6666-4666-8666-666666666666';
const change: DeviceChange = {
  changeType: 'UPDATED',
  changedAt: '2026-01-01T00:00:00.000Z',
  sequence: '000000000000000000009',
  device: { id: ID, name: 'after restart', type: 'pump', status: 'ONLINE', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', metadata: {}, version: 2, readings: {} },
};


describe('WatchDevices over the cloud message bus', () => {
  let broker: WsBroker | undefined;
  let bus: IotMqttMessageBus | undefined;
  let changes: BusChangeSource | undefined;
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    await changes?.close();
    await bus?.close();
    await broker?.stop();
    [t, changes, bus, broker] = [undefined, undefined, undefined, undefined];
  });

  const watch = () => watchChanges(t!.client);

  it('ends open streams with UNAVAILABLE and reports NOT_SERVING while the broker is down, SERVING once resubscribed', async () => {
    // Prepare
    broker = await startWsBroker();
    bus = await IotMqttMessageBus.connect({
      endpoint: 'unused',
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: 'x', secretAccessKey: 'y' }),
      clientId: `device-service-test-${Math.random().toString(16).slice(2)}`,
      url: broker.url,
      reconnectDelayMs: 50,
    });
    changes = await subscribeToChanges(bus, silentLogger);
    t = await startTestServer({ changes });
    const health = healthClient(t.server.address);
    const before = await health.check(DEVICE_SERVICE_NAME);
    const first = watch();
    await once(first.stream, 'metadata');

    // Act
    await broker.stop();
    await waitFor(() => first.status() !== undefined);
    const during = { service: await health.check(DEVICE_SERVICE_NAME), server: await health.check('') };
    const refused = watch();
    await waitFor(() => refused.status() !== undefined);
    await broker.start();
    await waitFor(() => bus!.connected);
    const after = await health.check(DEVICE_SERVICE_NAME);
    const second = watch();
    await once(second.stream, 'metadata');
    await bus.publish(changeTopic(ID), JSON.stringify(change));
    await waitFor(() => second.seen.length === 1);
    health.close();

    // Assess
    expect(before).toBe('SERVING');
    expect(first.status()).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringMatching(/changes may have been missed.*list devices again/) });
    expect(during).toEqual({ service: 'NOT_SERVING', server: 'SERVING' });
    expect(refused.status()).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining('change feed subscription lost') });
    expect(refused.seen).toEqual([]);
    expect(after).toBe('SERVING');
    expect(second.seen.map((m) => m.device?.name)).toEqual(['after restart']);
    expect(t.logs.find((l) => l.msg === 'change subscription lost')).toMatchObject({ level: 'warn', streams: 1 });
  });
});
