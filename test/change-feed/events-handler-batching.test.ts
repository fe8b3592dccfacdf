import { describe, expect, it } from 'vitest';
import { toDeviceItem } from '../../src/adapters/dynamodb/device-item.js';
import { toDeviceChange } from '../../src/adapters/dynamodb/device-stream-record.js';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { createEventsHandler } from '../../src/change-feed/events-handler.js';
import type { DeviceChange } from '../../src/domain/device-change.js';
import type { ChangePublisher } from '../../src/ports/change-feed.js';
import { device, deviceRecord, streamRecord } from './stream-events.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const seq = (change: DeviceChange) => Number(change.sequence);

/** Records single publishes and batches; fails batches while `failBatches` is set. */
class BatchingPublisher implements ChangePublisher {
  readonly single: DeviceChange[] = [];
  readonly batches: DeviceChange[][] = [];
  failBatches = false;
  async publish(change: DeviceChange): Promise<void> {
    this.single.push(change);
  }
  async publishTelemetryBatch(changes: readonly DeviceChange[]): Promise<void> {
    if (this.failBatches) throw new Error('batch publish down');
    this.batches.push([...changes]);
  }
}

/** A publisher that only takes changes one by one (an in-process listener). */
class OneByOnePublisher implements ChangePublisher {
  readonly single: DeviceChange[] = [];
  async publish(change: DeviceChange): Promise<void> {
    this.single.push(change);
  }
}

const reading = (n: number, value: number) => device(id(n), { status: 'ONLINE', version: 2, lastSeen: `2026-01-01T00:00:0${value}.000Z`, readings: { t: value } });

describe('createEventsHandler batching of telemetry-only changes', () => {
  it('publishes registry changes one by one and telemetry-only changes in one batch, newest per device, in batch order', async () => {
    // Prepare
    const batching = new BatchingPublisher();
    const oneByOne = new OneByOnePublisher();
    const handler = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [batching, oneByOne] });
    const online = device(id(1), { status: 'ONLINE', version: 2 });
    const records = [
      deviceRecord(1, device(id(1)), online),
      deviceRecord(2, online, reading(1, 1)),
      deviceRecord(3, device(id(2), { status: 'ONLINE', version: 2 }), reading(2, 1)),
      deviceRecord(4, reading(1, 1), reading(1, 2)),
    ];

    // Act
    const response = await handler({ Records: records });

    // Assess: device 1's two readings coalesce to the newest (4); device 2's batch position is its record's (3).
    expect(response.batchItemFailures).toEqual([]);
    expect(batching.single.map(seq)).toEqual([1]);
    expect(batching.batches).toHaveLength(1);
    expect(batching.batches[0]!.map((c) => [c.device.id, seq(c), c.device.readings.t])).toEqual([
      [id(2), 3, 1],
      [id(1), 4, 2],
    ]);
    expect(oneByOne.single.map(seq).sort()).toEqual([1, 2, 3, 4]);
  });

  it('sends no batch when nothing was telemetry-only, and none with live telemetry off', async () => {
    // Prepare
    const batching = new BatchingPublisher();
    const quiet = new BatchingPublisher();
    const live = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [batching] });
    const off = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [quiet], publishTelemetryChanges: false });

    // Act
    await live({ Records: [deviceRecord(1, undefined, device(id(1)))] });
    await off({ Records: [deviceRecord(1, undefined, device(id(1))), deviceRecord(2, reading(1, 1), reading(1, 2))] });

    // Assess
    expect(batching.batches).toEqual([]);
    expect(quiet.batches).toEqual([]);
    expect(quiet.single.map(seq)).toEqual([1]);
  });

  it('ignores a record where only the watch mark moved', async () => {
    // Prepare
    const batching = new BatchingPublisher();
    const handler = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [batching] });
    const item = toDeviceItem(reading(1, 1));

    // Act
    await handler({ Records: [streamRecord(5, item, { ...item, watchedUntil: 1_900_000_000 })] });

    // Assess
    expect(batching.single).toEqual([]);
    expect(batching.batches).toEqual([]);
  });

  it('marks a change watched while the watch mark is later than the change', async () => {
    // Prepare
    const batching = new BatchingPublisher();
    const handler = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [batching] });
    const at = 1767225600; // the records' ApproximateCreationDateTime
    const watched = { ...toDeviceItem(reading(1, 2)), watchedUntil: at + 60 };
    const expired = { ...toDeviceItem(reading(2, 2)), watchedUntil: at - 1 };

    // Act
    await handler({
      Records: [
        streamRecord(6, { ...toDeviceItem(reading(1, 1)), watchedUntil: at + 60 }, watched),
        streamRecord(7, toDeviceItem(reading(2, 1)), expired),
      ],
    });

    // Assess
    expect(batching.batches[0]!.map((c) => [c.device.id, c.watched ?? false])).toEqual([
      [id(1), true],
      [id(2), false],
    ]);
  });

  it('reports the earliest telemetry-only record of each shard when the batch publish fails, and republishes it all on redelivery', async () => {
    // Prepare
    const batching = new BatchingPublisher();
    const handler = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [batching] });
    const other = 'arn:aws:dynamodb:us-east-1:000000000000:table/Devices/stream/other';
    const records = [
      deviceRecord(10, device(id(1)), device(id(1), { status: 'ONLINE', version: 2 })),
      deviceRecord(11, reading(1, 1), reading(1, 2)),
      deviceRecord(12, reading(2, 1), reading(2, 2)),
      deviceRecord(13, reading(3, 1), reading(3, 2), other),
    ];
    batching.failBatches = true;

    // Act
    const failed = await handler({ Records: records });
    batching.failBatches = false;
    const retried = await handler({ Records: records.slice(1) });

    // Assess
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: '11' }, { itemIdentifier: '13' }]);
    expect(retried.batchItemFailures).toEqual([]);
    expect(batching.batches.flat().map(seq).sort()).toEqual([11, 12, 13]);
  });
});
