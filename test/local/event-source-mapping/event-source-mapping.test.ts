import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DurableLog, readLogged } from '../../../src/local/event-source-mapping/durable-log.js';
import { EventSourceMapping, type EventSourceMappingOptions } from '../../../src/local/event-source-mapping/event-source-mapping.js';

interface Rec {
  readonly id: string;
  readonly at: number;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'esm-'));
  dirs.push(dir);
  return dir;
};

function mapping(overrides: Partial<EventSourceMappingOptions<Rec>> & Pick<EventSourceMappingOptions<Rec>, 'handler'>) {
  return new EventSourceMapping<Rec>({
    name: 'test',
    batchSize: 3,
    batchWindowMs: 1,
    identify: (r) => r.id,
    arrivedAt: (r) => r.at,
    retryBaseMs: 1,
    ...overrides,
  });
}

describe('EventSourceMapping', () => {
  it('replays after a crash exactly the records that were durable but not delivered, in order', async () => {
    // Prepare: a first process delivers r1-r3 and is killed while r4-r6 wait behind a failing handler
    const dir = tempDir();
    const firstDelivered: string[] = [];
    const first = mapping({
      handler: async (records) => {
        firstDelivered.push(...records.map((r) => r.id));
        if (records.some((r) => r.id === 'r4')) throw new Error('store down');
      },
      retryBaseMs: 60_000,
      log: new DurableLog<Rec>({ dir, identify: (r) => r.id }),
    });
    for (let i = 1; i <= 6; i += 1) await first.put('shard-a', { id: `r${i}`, at: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // SIGKILL: nothing more of `first` runs (its timers would, so they are simply never awaited)
    const second: string[] = [];

    // Act
    const restarted = mapping({ handler: async (records) => void second.push(...records.map((r) => r.id)), log: new DurableLog<Rec>({ dir, identify: (r) => r.id }) });
    const recovered = await restarted.recover();
    await restarted.put('shard-a', { id: 'r7', at: Date.now() });
    await restarted.flush();
    await restarted.stop();

    // Assess
    expect(firstDelivered.slice(0, 3)).toEqual(['r1', 'r2', 'r3']);
    expect(recovered).toBe(3);
    expect(second).toEqual(['r4', 'r5', 'r6', 'r7']);
  });

  it('holds at most maxPending records: put waits for room while the handler is slow', async () => {
    // Prepare
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const esm = mapping({ handler: () => gate, maxPending: 4, batchSize: 2 });
    const accepted: number[] = [];

    // Act
    const puts = Array.from({ length: 10 }, (_, i) => esm.put('s', { id: `r${i}`, at: Date.now() }).then(() => accepted.push(i)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const whileBlocked = [...accepted];
    release();
    await Promise.all(puts);
    await esm.flush();

    // Assess
    expect(whileBlocked).toEqual([0, 1, 2, 3]);
    expect(accepted).toHaveLength(10);
    expect(esm.stats()).toMatchObject({ put: 10, delivered: 10, pending: 0, peakPending: 4 });
    await esm.stop();
  });

  it('gives up on records older than the maximum record age, to the on-failure destination', async () => {
    // Prepare
    const discarded: string[] = [];
    const delivered: string[] = [];
    const now = Date.now();
    const esm = mapping({
      handler: async (records) => void delivered.push(...records.map((r) => r.id)),
      maxRecordAgeMs: 60_000,
      onDiscard: (records, reason) => void discarded.push(...records.map((r) => `${r.id}: ${reason}`)),
    });

    // Act
    await esm.put('s', { id: 'old', at: now - 120_000 });
    await esm.put('s', { id: 'fresh', at: now });
    await esm.flush();

    // Assess
    expect(discarded).toEqual(['old: older than the maximum record age (60 s)']);
    expect(delivered).toEqual(['fresh']);
    await esm.stop();
  });

  it('keeps at most memoryWindow records of a backlog in memory and reads the rest back from the log, in order', async () => {
    // Prepare: a handler that holds its first batch until released, and a window of 5 records
    const dir = tempDir();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const delivered: string[] = [];
    const batches: number[] = [];
    const esm = mapping({
      handler: async (records) => {
        await gate;
        batches.push(records.length);
        delivered.push(...records.map((r) => r.id));
      },
      batchSize: 4,
      memoryWindow: 5,
      maxPending: 1_000,
      log: new DurableLog<Rec>({ dir, identify: (r) => r.id, segmentBytes: 300 }),
    });

    // Act: 60 records arrive while the handler is stuck on the first batch
    for (let i = 0; i < 60; i += 1) await esm.put('s', { id: `r${i}`, at: Date.now() });
    const whileStuck = esm.stats();
    release();
    await esm.flush();

    // Assess: 55 waited on disk; every record came back exactly once, in order, in batches of at most 4
    expect(whileStuck).toMatchObject({ put: 60, pending: 60, spilled: 55 });
    expect(delivered).toEqual(Array.from({ length: 60 }, (_, i) => `r${i}`));
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
    expect(esm.stats()).toMatchObject({ delivered: 60, pending: 0 });
    await esm.stop();
    expect(readdirSync(dir).length).toBeLessThanOrEqual(1);
  });

  it('after a crash with a spilled backlog, delivers every undelivered record once and in order, across segments', async () => {
    // Prepare: a first process delivers one batch of 4 and is killed with 46 waiting (most on disk)
    const dir = tempDir();
    const log = () => new DurableLog<Rec>({ dir, identify: (r) => r.id, segmentBytes: 256 });
    const firstDelivered: string[] = [];
    const first = mapping({
      handler: async (records) => {
        if (firstDelivered.length > 0) await new Promise(() => undefined); // stuck until killed
        firstDelivered.push(...records.map((r) => r.id));
      },
      batchSize: 4,
      batchWindowMs: 200,
      memoryWindow: 6,
      maxPending: 1_000,
      log: log(),
    });
    for (let i = 0; i < 50; i += 1) await first.put('a', { id: `a${i}`, at: Date.now() });
    await first.put('b', { id: 'b0', at: Date.now() });
    await vi.waitFor(() => expect(firstDelivered).toHaveLength(4));
    // Let the checkpoint line reach the file (it is written without waiting, as the group commit runs).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second: string[] = [];

    // Act: restart on the same directory
    const restarted = mapping({ handler: async (records) => void second.push(...records.map((r) => r.id)), batchSize: 4, memoryWindow: 6, log: log() });
    const recovered = await restarted.recover();
    await restarted.put('a', { id: 'a50', at: Date.now() });
    await restarted.flush();
    await restarted.stop();

    // Assess
    expect(firstDelivered).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(recovered).toBe(47);
    expect(second.filter((id) => id.startsWith('a'))).toEqual(Array.from({ length: 47 }, (_, i) => `a${i + 4}`));
    expect(second.filter((id) => id.startsWith('b'))).toEqual(['b0']);
    expect(readdirSync(dir).length).toBeLessThanOrEqual(1);
  });

  it('deletes log segments once every record in them is delivered', async () => {
    // Prepare
    const dir = tempDir();
    const esm = mapping({ handler: async () => undefined, batchSize: 50, log: new DurableLog<Rec>({ dir, identify: (r) => r.id, segmentBytes: 200 }) });

    // Act
    for (let i = 0; i < 60; i += 1) await esm.put('s', { id: `r${i}`, at: Date.now() });
    await esm.flush();
    await esm.put('s', { id: 'last', at: Date.now() });
    await esm.flush();
    await esm.stop();

    // Assess: 60 records of ~40 bytes in 200-byte segments made many; at most the live ones remain
    expect(readdirSync(dir).length).toBeLessThanOrEqual(2);
  });

  it('keeps delivered records readable for the retention, across restarts, without delivering any twice', async () => {
    // Prepare: a first process is killed while r3 and r4 wait behind a failing handler
    const dir = tempDir();
    let offset = 0;
    const clock = () => Date.now() + offset;
    const log = () => new DurableLog<Rec>({ dir, identify: (r) => r.id, segmentBytes: 200, retentionMs: 60_000, clock });
    const all = () => readLogged<Rec>(dir, 's', (r) => r.id, () => true).map((r) => r.id);
    const first = mapping({
      handler: async (records) => {
        if (records.some((r) => r.id === 'r3')) throw new Error('store down');
      },
      retryBaseMs: 60_000,
      log: log(),
    });
    for (let i = 1; i <= 4; i += 1) await first.put('s', { id: `r${i}`, at: Date.now() });
    // Killed once r1 and r2 are checkpointed on disk (r3 keeps failing, its retry is a minute away)
    await waitUntil(() => readdirSync(dir).some((name) => readFileSync(join(dir, name), 'utf8').includes('{"c":"s","id":"r2"}')));
    const delivered: string[][] = [];
    const restart = async () => {
      const again = mapping({ handler: async (records) => void delivered.push(records.map((r) => r.id)), log: log() });
      const recovered = await again.recover();
      await again.flush();
      return { again, recovered };
    };

    // Act: two restarts within the retention, then one past it
    const second = await restart();
    await second.again.stop();
    const afterSecond = all();
    const third = await restart();
    await third.again.put('s', { id: 'r5', at: Date.now() });
    await third.again.flush();
    await third.again.stop();
    const withinRetention = all();
    offset = 120_000;
    const fourth = await restart();
    await fourth.again.put('s', { id: 'r6', at: Date.now() });
    await fourth.again.flush();
    await fourth.again.stop();

    // Assess
    expect(second.recovered).toBe(2);
    expect(third.recovered).toBe(0);
    expect(fourth.recovered).toBe(0);
    expect(delivered).toEqual([['r3', 'r4'], ['r5'], ['r6']]);
    expect(afterSecond).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(withinRetention).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(all()).toEqual(['r6']);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
