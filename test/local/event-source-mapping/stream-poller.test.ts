import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { StreamPoller } from '../../../src/local/event-source-mapping/stream-poller.js';

let sequence = 0;
function record(id: string, table = 'T'): DynamoDBRecord {
  sequence += 1;
  return {
    eventName: 'MODIFY',
    eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${table}/stream/x`,
    dynamodb: { Keys: { id: { S: id } }, SequenceNumber: String(sequence) },
  };
}

const label = (r: DynamoDBRecord) => `${r.dynamodb!.Keys!.id!.S}${r.dynamodb!.SequenceNumber}`;

describe('StreamPoller', () => {
  it('delivers every record in batches no larger than the batch size', async () => {
    // Prepare
    const batches: string[][] = [];
    const poller = new StreamPoller(
      async (event: DynamoDBStreamEvent) => {
        batches.push(event.Records.map(label));
      },
      { batchSize: 3, batchingWindowMs: 1 },
    );
    const pushed = Array.from({ length: 8 }, (_, i) => record(`d${i % 2}`));

    // Act
    for (const r of pushed) poller.push(r);
    await poller.flush();

    // Assess
    expect(batches.every((b) => b.length <= 3)).toBe(true);
    expect(batches.flat()).toEqual(pushed.map(label));
    await poller.stop();
  });

  it('retries a shard from its failed record on, in order, and lets other shards through', async () => {
    // Prepare
    const batches: string[][] = [];
    let failuresLeft = 2;
    const a1 = record('a');
    const b1 = record('b');
    const a2 = record('a');
    const c1 = record('c', 'Other');
    const poller = new StreamPoller(
      async (event): Promise<DynamoDBBatchResponse> => {
        batches.push(event.Records.map(label));
        const failed = event.Records.filter((r) => r === b1 && failuresLeft-- > 0);
        return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })) };
      },
      { batchingWindowMs: 1, retryBaseDelayMs: 1 },
    );

    // Act
    for (const r of [a1, b1, a2, c1]) poller.push(r);
    await poller.flush();

    // Assess: one batch per shard, as Lambda delivers; a1 (before the failure) and c1 (another
    // shard) are not delivered again
    expect(batches.filter((b) => b.includes(label(c1)))).toEqual([[label(c1)]]);
    expect(batches.filter((b) => !b.includes(label(c1)))).toEqual([
      [label(a1), label(b1), label(a2)],
      [label(b1), label(a2)],
      [label(b1), label(a2)],
    ]);
    await poller.stop();
  });

  it('fails the whole batch when the handler throws or names a record it was not given', async () => {
    // Prepare
    const calls: string[][] = [];
    const poller = new StreamPoller(
      async (event): Promise<DynamoDBBatchResponse> => {
        calls.push(event.Records.map(label));
        if (calls.length === 1) throw new Error('boom');
        if (calls.length === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] };
        return { batchItemFailures: [] };
      },
      { batchingWindowMs: 1, retryBaseDelayMs: 1 },
    );
    const r = record('c');

    // Act
    poller.push(r);
    await poller.flush();

    // Assess
    expect(calls).toEqual([[label(r)], [label(r)], [label(r)]]);
    await poller.stop();
  });

  it('discards a record after its retries so that flush still resolves', async () => {
    // Prepare
    const discarded: string[] = [];
    let calls = 0;
    const poller = new StreamPoller(
      async () => {
        calls += 1;
        throw new Error('always');
      },
      { batchingWindowMs: 1, retryBaseDelayMs: 1, retryAttempts: 2, onDiscard: (r) => discarded.push(label(r)) },
    );
    const r = record('d');

    // Act
    poller.push(r);
    await poller.flush();

    // Assess
    expect(calls).toBe(3);
    expect(discarded).toEqual([label(r)]);
    await poller.stop();
  });
});
