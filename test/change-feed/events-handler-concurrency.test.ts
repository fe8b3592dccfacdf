/**
 * The events handler runs different devices concurrently and each device's records in order;
 * partial failures are reported as DynamoDB Streams expects (the lowest failed sequence).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { createEventsHandler, EVENTS_DEVICE_CONCURRENCY } from '../../src/change-feed/events-handler.js';
import { toDeviceChange } from '../../src/adapters/dynamodb/device-stream-record.js';
import { StreamPoller } from '../../src/local/event-source-mapping/stream-poller.js';
import type { Device } from '../../src/domain/device.js';
import type { DeviceChange } from '../../src/domain/device-change.js';
import type { ChangePublisher } from '../../src/ports/change-feed.js';
import { startDynamoFixture, type DynamoFixture } from '../adapters/dynamodb/dynamo-fixture.js';
import { device, deviceRecord } from './stream-events.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
}

/** A publisher that waits a random few ms per change, records the order, and counts changes in flight. */
class SlowRecordingPublisher implements ChangePublisher {
  readonly published: DeviceChange[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly failures: Map<string, number>;

  constructor(
    next: (n: number) => number,
    /** Sequence → how many times publishing it fails before it succeeds. */
    failures: Record<string, number> = {},
    private readonly delayOf: (change: DeviceChange) => number = () => next(6),
  ) {
    this.failures = new Map(Object.entries(failures));
  }

  async publish(change: DeviceChange): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.delayOf(change)));
      const raw = String(BigInt(change.sequence));
      const left = this.failures.get(raw) ?? 0;
      if (left > 0) {
        this.failures.set(raw, left - 1);
        throw new Error(`publisher down for ${raw}`);
      }
      this.published.push(change);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Raw sequences published per device, in publish order. */
  orderByDevice(): Map<string, number[]> {
    const order = new Map<string, number[]>();
    for (const change of this.published) order.set(change.device.id, [...(order.get(change.device.id) ?? []), Number(BigInt(change.sequence))]);
    return order;
  }
}

/**
 * A shard's batch: `devices` devices, each created then updated `updates` times (status
 * and version move, every other update telemetry only), interleaved in stream order.
 */
function interleavedBatch(devices: number, updates: number, next: (n: number) => number, firstSequence = 1000): DynamoDBRecord[] {
  const state = new Map<string, Device | undefined>();
  const pending = Array.from({ length: devices }, (_, i) => ({ id: id(i + 1), left: updates + 1 }));
  const records: DynamoDBRecord[] = [];
  let sequence = firstSequence;
  while (pending.length > 0) {
    const pick = next(pending.length);
    const entry = pending[pick]!;
    const before = state.get(entry.id);
    const statuses = ['ONLINE', 'OFFLINE', 'ERROR'] as const;
    const after: Device = before
      ? records.length % 2 === 0
        ? { ...before, status: statuses[next(3)]!, version: before.version + 1 }
        : { ...before, lastSeen: new Date(Date.UTC(2026, 0, 1, 0, 0, sequence % 60)).toISOString() }
      : device(entry.id, { type: ['sensor', 'gateway'][next(2)]! });
    records.push(deviceRecord(sequence, before, after));
    sequence += 1;
    state.set(entry.id, after);
    entry.left -= 1;
    if (entry.left === 0) pending.splice(pick, 1);
  }
  return records;
}

const rawSequences = (records: DynamoDBRecord[]) => records.map((r) => Number(r.dynamodb!.SequenceNumber));

describe('createEventsHandler under concurrency', () => {
  it('keeps every device\'s records in stream order while devices run concurrently', async () => {
    // Prepare
    const next = random(7);
    const records = interleavedBatch(40, 4, next);
    const publisher = new SlowRecordingPublisher(next);
    const handler = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [publisher] });

    // Act
    const response = await handler({ Records: records });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(publisher.published).toHaveLength(records.length);
    const expected = new Map<string, number[]>();
    for (const r of records) {
      const key = r.dynamodb!.Keys!.id!.S!;
      expected.set(key, [...(expected.get(key) ?? []), Number(r.dynamodb!.SequenceNumber)]);
    }
    expect(publisher.orderByDevice()).toEqual(expected);
    expect(publisher.maxInFlight).toBeGreaterThan(1);
    expect(publisher.maxInFlight).toBeLessThanOrEqual(EVENTS_DEVICE_CONCURRENCY);
  });

  it('never runs more devices at once than its concurrency', async () => {
    // Prepare
    const next = random(11);
    const publisher = new SlowRecordingPublisher(next);
    const handler = createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [publisher], concurrency: 3 });

    // Act
    await handler({ Records: interleavedBatch(12, 2, next) });

    // Assess
    expect(publisher.maxInFlight).toBe(3);
  });

  it('reports the earliest failed record even when a later one of another device fails first', async () => {
    // Prepare: device 1 fails at its second record (1002), slowly; device 2 fails at 1005, at once.
    const records = [
      deviceRecord(1000, undefined, device(id(1))),
      deviceRecord(1001, undefined, device(id(2))),
      deviceRecord(1002, device(id(1)), device(id(1), { status: 'ONLINE', version: 2 })),
      deviceRecord(1003, undefined, device(id(3))),
      deviceRecord(1004, device(id(1)), device(id(1), { status: 'ERROR', version: 3 })),
      deviceRecord(1005, device(id(2)), device(id(2), { status: 'ONLINE', version: 2 })),
      deviceRecord(1006, device(id(3)), device(id(3), { status: 'ONLINE', version: 2 })),
    ];
    const failedAt: string[] = [];
    const publisher = new SlowRecordingPublisher(random(3), { 1002: 1, 1005: 1 }, (change) => (change.device.id === id(1) ? 20 : 0));
    const handler = createEventsHandler({
      toChange: toDeviceChange,
      stats: new InMemoryStats(),
      publishers: [publisher],
      logger: { error: (_message, extra) => failedAt.push(String((extra as { sequenceNumber: string }).sequenceNumber)) },
    });

    // Act
    const response = await handler({ Records: records });

    // Assess: 1005 failed first in time, 1002 is reported; device 1's 1004 never ran after its failure.
    expect(failedAt).toEqual(['1005', '1002']);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '1002' }]);
    expect(rawSequences(records).filter((s) => publisher.published.some((c) => Number(BigInt(c.sequence)) === s))).toEqual([1000, 1001, 1003, 1006]);
  });

  it('fans out telemetry-only changes only when asked, and always registry and presence changes', async () => {
    // Prepare
    const before = device(id(1), { status: 'OFFLINE', version: 1 });
    const seen = { ...before, lastSeen: '2026-01-01T00:00:10.000Z', readings: { temperature: 21 } };
    const online = { ...seen, status: 'ONLINE' as const, version: 2 };
    const records = [deviceRecord(1, undefined, before), deviceRecord(2, before, seen), deviceRecord(3, seen, online), deviceRecord(4, online, undefined)];
    const quiet = new SlowRecordingPublisher(random(1), {}, () => 0);
    const live = new SlowRecordingPublisher(random(1), {}, () => 0);
    const quietStats = new InMemoryStats();

    // Act
    await createEventsHandler({ toChange: toDeviceChange, stats: quietStats, publishers: [quiet], publishTelemetryChanges: false })({ Records: records });
    await createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [live] })({ Records: records });

    // Assess
    expect(quiet.published.map((c) => `${c.changeType}@${c.device.version}`)).toEqual(['CREATED@1', 'UPDATED@2', 'DELETED@2']);
    expect(live.published.map((c) => `${c.changeType}@${c.device.version}`)).toEqual(['CREATED@1', 'UPDATED@1', 'UPDATED@2', 'DELETED@2']);
    expect((await quietStats.read()).total).toBe(0);
  });

  it.each([[0], [-1], [1.5], [Number.NaN]])('refuses a concurrency of %s', (concurrency) => {
    // Act / Assess
    expect(() => createEventsHandler({ toChange: toDeviceChange, stats: new InMemoryStats(), publishers: [], concurrency })).toThrow(/concurrency must be a positive integer/);
  });

  describe('on the DynamoDB stats store (dynalite)', () => {
    let fixture: DynamoFixture;
    beforeAll(async () => {
      fixture = await startDynamoFixture();
    });
    afterAll(async () => {
      await fixture.stop();
    });

    it('keeps the counters exact when the event source redelivers from the reported record', async () => {
      // Prepare: 30 devices x (create + 5 updates); one record fails to publish once, a later one twice.
      const next = random(23);
      const records = interleavedBatch(30, 5, next, 5000);
      const failing = [rawSequences(records)[40]!, rawSequences(records)[90]!];
      const publisher = new SlowRecordingPublisher(next, { [failing[0]!]: 1, [failing[1]!]: 2 });
      const stats = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
      const handler = createEventsHandler({ toChange: toDeviceChange, stats, publishers: [publisher] });
      const truth = new InMemoryStats();
      for (const r of records) {
        await truth.apply(toDeviceChange(r)!);
      }

      // Act: deliver as the event source does, resuming from the lowest reported sequence each time.
      const responses: string[][] = [];
      let remaining = records;
      while (remaining.length > 0) {
        const response = await handler({ Records: remaining });
        responses.push(response.batchItemFailures.map((f) => f.itemIdentifier));
        const from = remaining.findIndex((r) => r.dynamodb!.SequenceNumber === response.batchItemFailures[0]?.itemIdentifier);
        remaining = from === -1 ? [] : remaining.slice(from);
      }

      // Assess
      expect(responses).toEqual([[String(failing[0])], [String(failing[1])], []]);
      expect(await stats.read()).toEqual(await truth.read());
      expect((await stats.read()).total).toBe(30);
      // Every change reached the publisher at least once (redelivered ones more than once).
      expect(new Set([...publisher.orderByDevice().values()].flat())).toEqual(new Set(rawSequences(records)));
    }, 60_000);
  });
});

describe('createEventsHandler behind the local stream poller', () => {
  it('delivers every change after a failure, each device in order, and counts each once', async () => {
    // Prepare: the poller retries a shard from the first failed record it is told about.
    const next = random(5);
    const records = interleavedBatch(20, 3, next, 9000);
    const failing = rawSequences(records)[25]!;
    const publisher = new SlowRecordingPublisher(next, { [failing]: 2 });
    const stats = new InMemoryStats();
    const truth = new InMemoryStats();
    for (const r of records) await truth.apply(toDeviceChange(r)!);
    const poller = new StreamPoller(createEventsHandler({ toChange: toDeviceChange, stats, publishers: [publisher] }), { batchingWindowMs: 1, retryBaseDelayMs: 1 });

    // Act
    for (const r of records) poller.push(r);
    await poller.flush();
    await poller.stop();

    // Assess: the failure made the poller redeliver; per device every change arrives, first seen in stream order.
    expect(publisher.published.length).toBeGreaterThan(records.length);
    for (const [deviceId, order] of publisher.orderByDevice()) {
      const expected = rawSequences(records.filter((r) => r.dynamodb!.Keys!.id!.S === deviceId));
      expect(new Set(order)).toEqual(new Set(expected));
      expect([...new Set(order)]).toEqual(expected);
    }
    expect(await stats.read()).toEqual(await truth.read());
  });
});
