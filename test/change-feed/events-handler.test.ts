import { describe, expect, it } from 'vitest';
import { toDeviceChange } from '../../src/adapters/dynamodb/device-stream-record.js';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { createEventsHandler } from '../../src/change-feed/events-handler.js';
import type { DeviceChange } from '../../src/domain/device-change.js';
import type { ChangePublisher } from '../../src/ports/change-feed.js';
import { device, deviceRecord, streamRecord } from './stream-events.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A publisher that records what it gets and fails for the devices in `failFor`. */
class RecordingPublisher implements ChangePublisher {
  readonly published: DeviceChange[] = [];
  constructor(readonly failFor = new Set<string>()) {}
  async publish(change: DeviceChange): Promise<void> {
    if (this.failFor.has(change.device.id)) throw new Error('publisher down');
    this.published.push(change);
  }
}

describe('createEventsHandler', () => {
  it('counts and publishes every device change and ignores other items', async () => {
    // Prepare
    const stats = new InMemoryStats();
    const publisher = new RecordingPublisher();
    const handler = createEventsHandler({ toChange: toDeviceChange, stats, publishers: [publisher] });
    const records = [
      deviceRecord(1, undefined, device(id(1))),
      streamRecord(2, undefined, { id: 'not-a-device' }),
      deviceRecord(3, device(id(1)), device(id(1), { status: 'ONLINE', version: 2 })),
    ];

    // Act
    const response = await handler({ Records: records });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(publisher.published.map((c) => c.changeType)).toEqual(['CREATED', 'UPDATED']);
    expect(await stats.read()).toMatchObject({ total: 1, byStatus: { ONLINE: 1 } });
  });

  it('reports the earliest failed record per shard and skips only the failed device\'s later records', async () => {
    // Prepare
    const stats = new InMemoryStats();
    const publisher = new RecordingPublisher(new Set([id(2)]));
    const handler = createEventsHandler({ toChange: toDeviceChange, stats, publishers: [publisher] });
    const otherShard = 'arn:aws:dynamodb:us-east-1:000000000000:table/Devices/stream/other';
    const records = [
      deviceRecord(10, undefined, device(id(1))),
      deviceRecord(11, undefined, device(id(2))),
      deviceRecord(12, undefined, device(id(3))),
      deviceRecord(13, undefined, device(id(4)), otherShard),
    ];

    // Act
    const response = await handler({ Records: records });

    // Assess: id(3) runs beside id(2); it comes again in the retry from 11 and is counted once.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '11' }]);
    expect(publisher.published.map((c) => c.device.id).sort()).toEqual([id(1), id(3), id(4)]);
  });

  it('counts a redelivered batch once', async () => {
    // Prepare
    const stats = new InMemoryStats();
    const handler = createEventsHandler({ toChange: toDeviceChange, stats, publishers: [] });
    const batch = { Records: [deviceRecord(20, undefined, device(id(1))), deviceRecord(21, undefined, device(id(2)))] };

    // Act
    await handler(batch);
    await handler(batch);

    // Assess
    expect((await stats.read()).total).toBe(2);
  });
});
