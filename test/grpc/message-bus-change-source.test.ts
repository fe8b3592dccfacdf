import { describe, expect, it } from 'vitest';
import { CHANGE_TOPIC_FILTER, changeTopic } from '../../src/contracts/topics.js';
import type { DeviceChange } from '../../src/domain/device-change.js';
import { subscribeToChanges } from '../../src/grpc/message-bus-change-source.js';
import { MemoryBus } from '../support/memory-bus.js';
import { recordingLogger, silentLogger } from '../support/recording-logger.js';

const ID = '55555555-5555-4555-8555-555555555555';
const change: DeviceChange = {
  changeType: 'CREATED',
  changedAt: '2026-01-01T00:00:00.000Z',
  sequence: '000000000000000000007',
  device: { id: ID, name: 'n', type: 't', status: 'UNKNOWN', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', metadata: {}, version: 1, readings: {} },
};

describe('subscribeToChanges', () => {
  it('subscribes once to the change topics and relays each DeviceChange to every listener', async () => {
    // Prepare
    const bus = new MemoryBus();
    const source = await subscribeToChanges(bus, silentLogger);
    const a: DeviceChange[] = [];
    const b: DeviceChange[] = [];
    source.subscribe((c) => a.push(c));
    source.subscribe((c) => b.push(c));

    // Act
    await bus.publish(changeTopic(ID), JSON.stringify(change));

    // Assess
    expect([...bus.subscriptions.keys()]).toEqual([CHANGE_TOPIC_FILTER]);
    expect(a).toEqual([change]);
    expect(b).toEqual([change]);
  });

  it.each([
    ['not JSON', changeTopic(ID), '{nope'],
    ['JSON that is not a change', changeTopic(ID), '{"changeType":"EXPLODED"}'],
    ['a change on another device topic', changeTopic('66666666-6666-4666-8666-666666666666'), JSON.stringify(change)],
    ['a device without a valid status', changeTopic(ID), JSON.stringify({ ...change, device: { ...change.device, status: 'ON' } })],
  ])('drops and logs %s', async (_what, topic, payload) => {
    // Prepare
    const bus = new MemoryBus();
    const logger = recordingLogger();
    const logs = logger.lines;
    const source = await subscribeToChanges(bus, logger);
    const got: DeviceChange[] = [];
    source.subscribe((c) => got.push(c));

    // Act
    await bus.publish(topic, payload);

    // Assess
    expect(got).toEqual([]);
    expect(logs).toMatchObject([{ level: 'warn', topic }]);
  });

  it('releases the bus subscription on close', async () => {
    // Prepare
    const bus = new MemoryBus();
    const source = await subscribeToChanges(bus, silentLogger);

    // Act
    await source.close();

    // Assess
    expect(bus.subscriptions.size).toBe(0);
  });
});
