/**
 * The local on-failure destination of the ingest event source: one file per message (the
 * message Lambda sends to SQS, KinesisBatchInfo included) in a directory under the data
 * directory. One file each, written aside and renamed into place, so the platform adding
 * messages and a replay deleting them (another process) never step on each other.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KinesisFailureRecord } from '../../devices/kinesis-failure-record.js';
import { failedRangeOf } from '../../devices/kinesis-failure-record.js';
import type { FailureMessage, FailureQueue } from '../../devices/ingest-replay.js';

const SUFFIX = '.json';

/** Where `iotctl local` keeps the ingest failure messages. */
export const ingestFailureDir = (dataDir: string): string => join(dataDir, 'ingest-failures');

/** A directory of failure messages. */
export class LocalFailureDestination implements FailureQueue {
  constructor(private readonly dir: string) {}

  /** Adds a message; returns once it is on disk under its final name. */
  send(record: KinesisFailureRecord): void {
    mkdirSync(this.dir, { recursive: true });
    // Named by time first, so a listing is in the order the mapping gave up.
    const name = `${new Date(record.timestamp).getTime().toString().padStart(15, '0')}-${randomUUID()}`;
    const temporary = join(this.dir, `.${name}.tmp`);
    writeFileSync(temporary, JSON.stringify(record), 'utf8');
    renameSync(temporary, join(this.dir, `${name}${SUFFIX}`));
  }

  /** Every message now in the directory, oldest first. */
  async receive(): Promise<FailureMessage[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((name) => name.endsWith(SUFFIX) && !name.startsWith('.'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.sort().map((name) => {
      const range = failedRangeOf(readFileSync(join(this.dir, name), 'utf8'));
      return { id: name, ...(range && { range }) };
    });
  }

  async delete(message: FailureMessage): Promise<void> {
    rmSync(join(this.dir, message.id), { force: true });
  }
}
