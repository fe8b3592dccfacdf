/** The local stand-in for the SQS dead-letter queue: one JSON object per line in a file under `.local/`. */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { UnavailableError } from '../../domain/errors.js';
import type { DeadLetter, DeadLetterQueue } from '../../ports/dead-letter.js';

/**
 * Appends dead letters to a JSON-lines file, one write at a time: a `send` waits for the writes
 * of the sends before it, so concurrent senders neither interleave their lines nor pile up
 * buffers (each waits its turn with its own letters). A letter whose stream sequence number the
 * file already holds is not written again: the local stream replays records after a crash, and
 * a replayed record must not be dead-lettered twice. Those numbers are read once from the file,
 * line by line, so memory holds one key per letter, not the letters' payloads.
 */
export class JsonLinesDeadLetterQueue implements DeadLetterQueue {
  private count = 0;
  private sequences: Promise<Set<string>> | undefined;
  /** The last write queued: the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Letters written by this instance. */
  get written(): number {
    return this.count;
  }

  /** Appends `letters` after every earlier send's; resolves once they are in the file. */
  send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    const turn = this.tail.then(() => this.write(letters));
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async write(letters: readonly DeadLetter[]): Promise<void> {
    try {
      this.sequences ??= this.readKeys();
      const seen = await this.sequences.catch((error: unknown) => {
        this.sequences = undefined;
        throw error;
      });
      const keys = new Set<string>();
      const fresh = letters.filter((letter) => {
        if (!letter.sequenceNumber) return true;
        const key = letterKey(letter);
        if (seen.has(key) || keys.has(key)) return false;
        keys.add(key);
        return true;
      });
      if (fresh.length === 0) return;
      await mkdir(dirname(this.path), { recursive: true });
      await appendFile(this.path, fresh.map((l) => `${JSON.stringify(l)}\n`).join(''), 'utf8');
      // Only once written: a failed write leaves them to the sender's retry.
      for (const key of keys) seen.add(key);
      this.count += fresh.length;
    } catch (error) {
      throw new UnavailableError(`cannot write dead letters to ${this.path}`, { cause: error });
    }
  }

  /** The de-duplication keys of the letters already in the file, read line by line. */
  private async readKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    const stream = createReadStream(this.path, { encoding: 'utf8' });
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (line.length === 0) continue;
        const letter = JSON.parse(line) as DeadLetter;
        if (letter.sequenceNumber) keys.add(letterKey(letter));
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    } finally {
      stream.destroy();
    }
    return keys;
  }

  /** Every letter in the file (for `iotctl` and tests). */
  async readAll(): Promise<DeadLetter[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as DeadLetter);
  }
}

/** One letter per record, or per point of a version-2 record (each of its points may be refused alone). */
function letterKey(letter: DeadLetter): string {
  return letter.pointIndex === undefined ? letter.sequenceNumber! : `${letter.sequenceNumber!}#${letter.pointIndex}`;
}
