import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLinesDeadLetterQueue } from '../../../src/adapters/sqs/json-lines-dead-letter-queue.js';
import type { DeadLetter } from '../../../src/ports/dead-letter.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const letter = (reason: string): DeadLetter => ({ source: 'ingest', reason, detail: 'd', payload: 'e30=', payloadBytes: 2, deadLetteredAt: '2026-11-26T12:00:00.000Z' });

describe('JsonLinesDeadLetterQueue', () => {
  it('appends one JSON line per letter, creating the directory, and reads them back in order', async () => {
    // Prepare
    dir = await mkdtemp(join(tmpdir(), 'dlq-'));
    const queue = new JsonLinesDeadLetterQueue(join(dir, 'nested', 'dead-letters.jsonl'));

    // Act
    await queue.send([letter('INVALID_JSON'), letter('UNKNOWN_DEVICE')]);
    await queue.send([letter('TOO_DEEP')]);

    // Assess
    expect((await queue.readAll()).map((l) => l.reason)).toEqual(['INVALID_JSON', 'UNKNOWN_DEVICE', 'TOO_DEEP']);
    expect((await readFile(queue.path, 'utf8')).split('\n')).toHaveLength(4);
    expect(queue.written).toBe(3);
  });

  it('reads an absent file as no letters', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dlq-'));
    expect(await new JsonLinesDeadLetterQueue(join(dir, 'none.jsonl')).readAll()).toEqual([]);
  });

  it('writes a letter once per stream sequence number, also across instances (a replay after a restart)', async () => {
    // Prepare
    dir = await mkdtemp(join(tmpdir(), 'dlq-'));
    const path = join(dir, 'dead-letters.jsonl');
    const bySeq = (reason: string, sequenceNumber: string): DeadLetter => ({ ...letter(reason), sequenceNumber });
    await new JsonLinesDeadLetterQueue(path).send([bySeq('INVALID_JSON', '101'), bySeq('TOO_DEEP', '102')]);
    const restarted = new JsonLinesDeadLetterQueue(path);

    // Act
    await restarted.send([bySeq('INVALID_JSON', '101'), bySeq('UNKNOWN_DEVICE', '103'), bySeq('UNKNOWN_DEVICE', '103')]);
    await restarted.send([letter('RULE_ERROR'), letter('RULE_ERROR')]);

    // Assess
    expect((await restarted.readAll()).map((l) => [l.reason, l.sequenceNumber])).toEqual([
      ['INVALID_JSON', '101'],
      ['TOO_DEEP', '102'],
      ['UNKNOWN_DEVICE', '103'],
      ['RULE_ERROR', undefined],
      ['RULE_ERROR', undefined],
    ]);
    expect(restarted.written).toBe(3);
  });

  it('writes concurrent sends one after another, each letter once and whole', async () => {
    // Prepare: 50 senders at once, each with 20 letters of its own and one it shares with the next sender
    dir = await mkdtemp(join(tmpdir(), 'dlq-'));
    const queue = new JsonLinesDeadLetterQueue(join(dir, 'dead-letters.jsonl'));
    const bySeq = (sequenceNumber: string): DeadLetter => ({ ...letter('INVALID_JSON'), sequenceNumber, detail: 'x'.repeat(2_000) });

    // Act
    await Promise.all(
      Array.from({ length: 50 }, (_, sender) =>
        queue.send([...Array.from({ length: 20 }, (_, i) => bySeq(`${sender}-${i}`)), bySeq(`shared-${sender % 25}`)]),
      ),
    );

    // Assess: every line parses, 1,000 own letters plus 25 shared ones, each once, in sender order
    const letters = await queue.readAll();
    const sequences = letters.map((l) => l.sequenceNumber!);
    expect(sequences).toHaveLength(1_025);
    expect(new Set(sequences).size).toBe(1_025);
    expect(sequences.filter((s) => !s.startsWith('shared')).slice(0, 21)).toEqual([...Array.from({ length: 20 }, (_, i) => `0-${i}`), '1-0']);
    expect(queue.written).toBe(1_025);
  });

  it('keeps a letter whose write failed for the retry instead of treating it as written', async () => {
    // Prepare: the file's directory cannot be created (a file is in the way)
    dir = await mkdtemp(join(tmpdir(), 'dlq-'));
    const blocker = join(dir, 'blocked');
    await writeFile(blocker, 'not a directory');
    const queue = new JsonLinesDeadLetterQueue(join(blocker, 'dead-letters.jsonl'));
    const withSeq: DeadLetter = { ...letter('UNKNOWN_DEVICE'), sequenceNumber: '900' };
    const failed = await queue.send([withSeq]).catch((error: unknown) => error);

    // Act: the way is cleared and the sender retries
    await rm(blocker);
    await queue.send([withSeq]);

    // Assess
    expect(failed).toMatchObject({ name: 'UnavailableError' });
    expect((await queue.readAll()).map((l) => l.sequenceNumber)).toEqual(['900']);
  });
});
