import { PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { describe, expect, it } from 'vitest';
import { IotChangePublisher } from '../../../src/adapters/iot/iot-change-publisher.js';
import type { DeviceChange } from '../../../src/domain/device-change.js';
import { UnavailableError } from '../../../src/domain/errors.js';

const device = {
  id: '44444444-4444-4444-8444-444444444444',
  name: 'n',
  type: 'pump',
  status: 'ONLINE' as const,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:01.000Z',
  metadata: {},
  version: 2,
  readings: {},
};
const change: DeviceChange = { changeType: 'UPDATED', device, previous: { ...device, version: 1 }, changedAt: '2026-01-01T00:00:01.000Z', sequence: '000000000000000000001' };

describe('IotChangePublisher', () => {
  it('publishes the change as JSON without previous to the device change topic at QoS 1', async () => {
    // Prepare
    const sent: PublishCommand[] = [];
    const publisher = new IotChangePublisher({ send: async (command: unknown) => void sent.push(command as PublishCommand) } as never);

    // Act
    await publisher.publish(change);

    // Assess
    expect(sent).toHaveLength(1);
    const input = sent[0]!.input;
    expect(input).toMatchObject({ topic: `internal/device-changes/${device.id}`, qos: 1, contentType: 'application/json' });
    const { previous: _previous, ...expected } = change;
    expect(JSON.parse(new TextDecoder().decode(input.payload as Uint8Array))).toEqual(expected);
  });

  it('throws UnavailableError when the data plane refuses, so the stream record is retried', async () => {
    // Prepare
    const publisher = new IotChangePublisher({ send: async () => Promise.reject(new Error('ThrottlingException')) } as never);

    // Act
    const result = publisher.publish(change);

    // Assess
    await expect(result).rejects.toBeInstanceOf(UnavailableError);
  });
});
