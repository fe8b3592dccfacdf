/** The local stand-in for the SQS dead-letter queue: one JSON object per line in a file under `.local/`. */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnavailableError } from '../../domain/errors.js';
import type { DeadLetter, DeadLetterQueue } from '../../ports/dead-letter.js';

/**
 * Appends dead letters to a JSON-lines file (one write per call, so a batch is not interleaved).
 * A letter whose stream sequence number the file already holds is not written again: the local
 * stream replays records after a crash, and a replayed record must not be dead-lettered twice.
 */
export class JsonLinesDeadLetterQueue implements DeadLetterQueue {
  private count = 0;
  private sequences: Promise<Set<string>> | undefined;

  constructor(readonly path: string) {}

  /** Letters written by this instance. */
  get written(): number {
    return this.count;
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    try {
      this.sequences ??= this.readAll().then((all) => new Set(all.flatMap((l) => (l.sequenceNumber ? [letterKey(l)] : []))));
      const seen = await this.sequences.catch((error: unknown) => {
        this.sequences = undefined;
        throw error;
      });
      const fresh = letters.filter((letter) => {
        if (!letter.sequenceNumber) return true;
        const key = letterKey(letter);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      if (fresh.length === 0) return;
      await mkdir(dirname(this.path), { recursive: true });
      await appendFile(this.path, fresh.map((l) => `${JSON.stringify(l)}\n`).join(''), 'utf8');
      this.count += fresh.length;
    } catch (error) {
      throw new UnavailableError(`cannot write dead letters to ${this.path}`, { cause: error });
    }
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
