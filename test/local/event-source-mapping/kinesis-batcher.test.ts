import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { KinesisBatcher } from '../../../src/local/event-source-mapping/kinesis-batcher.js';

const decode = (r: KinesisStreamRecord) => Buffer.from(r.kinesis.data, 'base64').toString('utf8');

/** A handler that records every event it receives. */
function recordingHandler(respond: (event: KinesisStreamEvent, call: number) => KinesisStreamBatchResponse | void = () => undefined) {
  const events: KinesisStreamEvent[] = [];
  const handler = async (event: KinesisStreamEvent) => {
    events.push(event);
    return respond(event, events.length);
  };
  return { events, handler };
}

describe('KinesisBatcher', () => {
  it('delivers full batches at once and holds a partial batch for the window', async () => {
    // Prepare
    const { events, handler } = recordingHandler();
    const batcher = new KinesisBatcher({ settings: { batchSize: 10, batchWindowSeconds: 60 }, handler });

    // Act
    for (let i = 0; i < 25; i += 1) batcher.put('dev-1', `m${i}`);
    // The two full batches go out on their own; wait for them rather than for a fixed time, which a
    // loaded machine can outlast. The partial batch is then held by the 60 s window.
    await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 10_000 });
    const beforeFlush = events.map((e) => e.Records.length);
    await batcher.flush();

    // Assess
    expect(beforeFlush).toEqual([10, 10]);
    expect(events.map((e) => e.Records.length)).toEqual([10, 10, 5]);
    expect(events.flatMap((e) => e.Records.map(decode))).toEqual(Array.from({ length: 25 }, (_, i) => `m${i}`));
    await batcher.stop();
  });

  it('builds Kinesis records: base64 data, the partition key and increasing sequence numbers', async () => {
    // Prepare
    const { events, handler } = recordingHandler();
    const batcher = new KinesisBatcher({ settings: { batchSize: 100, batchWindowSeconds: 0 }, handler });

    // Act
    batcher.put('thing-a', '{"x":1}');
    batcher.put('thing-b', '{"x":2}');
    await batcher.flush();

    // Assess
    const records = events.flatMap((e) => e.Records);
    expect(records.map((r) => r.kinesis.partitionKey)).toEqual(['thing-a', 'thing-b']);
    expect(records.map(decode)).toEqual(['{"x":1}', '{"x":2}']);
    expect(BigInt(records[1]!.kinesis.sequenceNumber)).toBeGreaterThan(BigInt(records[0]!.kinesis.sequenceNumber));
    expect(records[0]).toMatchObject({ eventSource: 'aws:kinesis', eventName: 'aws:kinesis:record' });
    await batcher.stop();
  });

  it('keeps each partition key in order across shards', async () => {
    // Prepare
    const { events, handler } = recordingHandler();
    const batcher = new KinesisBatcher({ settings: { batchSize: 7, batchWindowSeconds: 0 }, handler, shards: 4 });

    // Act
    for (let i = 0; i < 200; i += 1) batcher.put(`dev-${i % 9}`, String(i));
    await batcher.flush();

    // Assess
    const byKey = new Map<string, number[]>();
    for (const record of events.flatMap((e) => e.Records)) {
      const list = byKey.get(record.kinesis.partitionKey) ?? [];
      list.push(Number(decode(record)));
      byKey.set(record.kinesis.partitionKey, list);
    }
    expect([...byKey.values()].flat()).toHaveLength(200);
    for (const values of byKey.values()) expect(values).toEqual([...values].sort((a, b) => a - b));
    await batcher.stop();
  });

  it('retries from the earliest reported failure, never redelivering the records before it', async () => {
    // Prepare: the first call reports record m2 as failed
    const { events, handler } = recordingHandler((event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: event.Records[2]!.kinesis.sequenceNumber }] } : undefined,
    );
    const batcher = new KinesisBatcher({ settings: { batchSize: 5, batchWindowSeconds: 0 }, handler, retryBaseMs: 1 });

    // Act
    for (let i = 0; i < 5; i += 1) batcher.put('dev-1', `m${i}`);
    await batcher.flush();

    // Assess
    expect(events.map((e) => e.Records.map(decode))).toEqual([
      ['m0', 'm1', 'm2', 'm3', 'm4'],
      ['m2', 'm3', 'm4'],
    ]);
    expect(batcher.stats()).toMatchObject({ put: 5, delivered: 5, discarded: 0, pending: 0 });
    await batcher.stop();
  });

  it('bisects a failing batch and hands a poison record to the failure destination after the retries', async () => {
    // Prepare: any batch containing "poison" throws
    const discarded: string[] = [];
    const { handler } = recordingHandler((event) => {
      if (event.Records.some((r) => decode(r) === 'poison')) throw new Error('boom');
    });
    const delivered: string[] = [];
    const batcher = new KinesisBatcher({
      settings: { batchSize: 8, batchWindowSeconds: 0 },
      handler: async (event) => {
        const response = await handler(event);
        delivered.push(...event.Records.map(decode));
        return response;
      },
      retryAttempts: 2,
      retryBaseMs: 1,
      onDiscard: (records, reason) => {
        discarded.push(...records.map((r) => `${decode(r)}: ${reason}`));
      },
    });

    // Act
    ['a', 'b', 'c', 'poison', 'd', 'e'].forEach((m) => batcher.put('dev-1', m));
    await batcher.flush();

    // Assess
    expect(discarded).toEqual(['poison: retry attempts exhausted (2)']);
    expect(new Set(delivered)).toEqual(new Set(['a', 'b', 'c', 'd', 'e']));
    expect(batcher.stats()).toMatchObject({ put: 6, delivered: 5, discarded: 1, pending: 0 });
    await batcher.stop();
  });

  it('refuses records after stop', async () => {
    // Prepare
    const batcher = new KinesisBatcher({ settings: { batchSize: 1, batchWindowSeconds: 0 }, handler: async () => undefined });
    await batcher.stop();

    // Act / Assess
    await expect(batcher.put('dev-1', 'late')).rejects.toThrow(/stopped/);
  });
});
