/**
 * The durable half of a local stream: records are appended to segment files under the data
 * directory before `append` resolves, so what a stand-in acknowledges (a PUBACK, a DynamoDB
 * write response) survives a SIGKILL: once write(2) returns, the data is the kernel's, whatever
 * happens to the process. Surviving a power loss as well takes `fsync: true` (an fdatasync per
 * round, which adds the disk's flush latency to every acknowledgement). Appends that arrive
 * while a write is running go out together in the next one (group commit). Checkpoints (the last record of a shard the mapping is done with)
 * go into the same files without waiting for the disk: a checkpoint lost in a crash only means
 * those records are delivered again, and every consumer is idempotent.
 *
 * A segment is deleted once every record in it is checkpointed, so the files hold about what
 * is still pending, not the stream's history.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** One record to replay: its shard and the record as it was appended. */
export interface LoggedRecord<R> {
  readonly shard: string;
  readonly record: R;
}

/** Options of {@link DurableLog}. */
export interface DurableLogOptions<R> {
  /** The stream's own directory (created if absent). */
  readonly dir: string;
  /** Identifies a record within its shard (its sequence number). */
  readonly identify: (record: R) => string;
  /** A segment is closed once it passes this size. @default 8 MiB */
  readonly segmentBytes?: number;
  /** fdatasync each round, to survive a power loss too (not only a crash of the process). @default false */
  readonly fsync?: boolean;
}

interface Segment {
  readonly path: string;
  /** Highest position per shard of the records in this segment. */
  readonly last: Map<string, number>;
  bytes: number;
}

interface Pending {
  readonly line: string;
  readonly done?: { resolve: () => void; reject: (error: unknown) => void };
}

const SEGMENT_SUFFIX = '.log';

/** An append-only, group-committed record log with per-shard checkpoints. */
export class DurableLog<R> {
  private readonly segmentBytes: number;
  private readonly segments: Segment[] = [];
  private handle: FileHandle | undefined;
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private nextSegment = 0;
  /** Positions: a per-process counter per shard, so segments can be compared with checkpoints. */
  private readonly positions = new Map<string, number>();
  private readonly checkpointed = new Map<string, number>();
  private readonly positionOf = new Map<string, number>();
  private closed = false;

  constructor(private readonly options: DurableLogOptions<R>) {
    this.segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
    mkdirSync(options.dir, { recursive: true });
  }

  /**
   * The records not yet checkpointed, per shard in append order, from the files a previous
   * process left. Call once, before the first append; the old segments are then rewritten as
   * one new segment holding only these records.
   */
  async recover(): Promise<LoggedRecord<R>[]> {
    const files = readdirSync(this.options.dir)
      .filter((name) => name.endsWith(SEGMENT_SUFFIX))
      .sort();
    const byShard = new Map<string, R[]>();
    const done = new Map<string, string>();
    for (const file of files) {
      const text = readFileSync(join(this.options.dir, file), 'utf8');
      for (const line of text.split('\n')) {
        if (line.length === 0) continue;
        let entry: { s?: string; r?: R; c?: string; id?: string };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue; // the torn tail of a write the crash interrupted: never acknowledged
        }
        if (typeof entry.c === 'string' && typeof entry.id === 'string') done.set(entry.c, entry.id);
        else if (typeof entry.s === 'string' && entry.r !== undefined) {
          const list = byShard.get(entry.s) ?? [];
          list.push(entry.r);
          byShard.set(entry.s, list);
        }
      }
      const index = Number(file.slice(0, -SEGMENT_SUFFIX.length));
      if (Number.isInteger(index)) this.nextSegment = Math.max(this.nextSegment, index + 1);
    }
    const remaining: LoggedRecord<R>[] = [];
    for (const [shard, records] of byShard) {
      const checkpoint = done.get(shard);
      const at = checkpoint === undefined ? -1 : records.findIndex((record) => this.options.identify(record) === checkpoint);
      for (const record of records.slice(at + 1)) remaining.push({ shard, record });
    }
    // Keep them in a fresh segment, then drop the old files: a crash in between replays twice at worst.
    if (remaining.length > 0) await this.append(remaining);
    for (const file of files) rmSync(join(this.options.dir, file), { force: true });
    return remaining;
  }

  /** Appends records; resolves once they are on disk. */
  append(entries: readonly LoggedRecord<R>[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The stream log is closed'));
    if (entries.length === 0) return Promise.resolve();
    const lines = entries.map(({ shard, record }) => {
      const position = (this.positions.get(shard) ?? 0) + 1;
      this.positions.set(shard, position);
      this.positionOf.set(`${shard}\u0000${this.options.identify(record)}`, position);
      return { shard, position, line: `${JSON.stringify({ s: shard, r: record })}\n` };
    });
    return new Promise<void>((resolve, reject) => {
      const last = lines.length - 1;
      lines.forEach(({ shard, position, line }, i) => {
        this.queue.push({ line, ...(i === last && { done: { resolve, reject } }) });
        this.pendingMarks.push({ shard, position });
      });
      this.kick();
    });
  }

  /** Marks every record of `shard` up to and including `id` as done. */
  checkpoint(shard: string, id: string): void {
    if (this.closed) return;
    const key = `${shard}\u0000${id}`;
    const position = this.positionOf.get(key);
    if (position !== undefined) {
      this.checkpointed.set(shard, Math.max(this.checkpointed.get(shard) ?? 0, position));
      // Positions below the checkpoint are never looked up again.
      for (const [k, p] of this.positionOf) if (p <= position && k.startsWith(`${shard}\u0000`)) this.positionOf.delete(k);
    }
    this.queue.push({ line: `${JSON.stringify({ c: shard, id })}\n` });
    this.kick();
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.queue.length > 0 || this.writing) await (this.writing ?? this.flushRound());
    this.closed = true;
    await this.handle?.close();
    this.handle = undefined;
  }

  private pendingMarks: Array<{ shard: string; position: number }> = [];

  private kick(): void {
    if (this.writing) return;
    this.writing = this.flushRound().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushRound(): Promise<void> {
    const round = this.queue;
    const marks = this.pendingMarks;
    this.queue = [];
    this.pendingMarks = [];
    if (round.length === 0) return;
    try {
      const segment = await this.currentSegment();
      const buffer = Buffer.from(round.map((p) => p.line).join(''), 'utf8');
      await this.handle!.write(buffer);
      if (this.options.fsync) await this.handle!.datasync();
      segment.bytes += buffer.byteLength;
      for (const { shard, position } of marks) segment.last.set(shard, Math.max(segment.last.get(shard) ?? 0, position));
      for (const pending of round) pending.done?.resolve();
      await this.compact();
    } catch (error) {
      for (const pending of round) pending.done?.reject(error);
    }
  }

  private async currentSegment(): Promise<Segment> {
    let segment = this.segments.at(-1);
    if (!segment || segment.bytes >= this.segmentBytes) {
      await this.handle?.close();
      const path = join(this.options.dir, `${String(this.nextSegment++).padStart(10, '0')}${SEGMENT_SUFFIX}`);
      this.handle = await open(path, 'a');
      segment = { path, last: new Map(), bytes: 0 };
      this.segments.push(segment);
    }
    return segment;
  }

  /** Deletes closed segments whose every record is checkpointed. */
  private async compact(): Promise<void> {
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const settled = [...oldest.last].every(([shard, position]) => (this.checkpointed.get(shard) ?? 0) >= position);
      if (!settled) return;
      rmSync(oldest.path, { force: true });
      this.segments.shift();
    }
  }
}
