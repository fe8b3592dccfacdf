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
 * A segment is deleted once every record in it is checkpointed and, with `retentionMs`, once
 * its last write is older than that: without retention the files hold about what is still
 * pending; with it they are the stream's history too, which {@link readLogged} reads back (the
 * ingest stream keeps records as Kinesis does, so a range given up on can be replayed).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
  /** Keep settled segments until their last write is this old (the stream's retention). @default 0 */
  readonly retentionMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

interface Segment {
  readonly path: string;
  /** Highest position per shard of the records in this segment. */
  readonly last: Map<string, number>;
  bytes: number;
  /** Epoch ms of its last write. */
  writtenAt: number;
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

  private readonly retentionMs: number;
  private readonly clock: () => number;

  constructor(private readonly options: DurableLogOptions<R>) {
    this.segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
    this.retentionMs = options.retentionMs ?? 0;
    this.clock = options.clock ?? Date.now;
    mkdirSync(options.dir, { recursive: true });
  }

  /**
   * The records not yet checkpointed, per shard in append order, from the files a previous
   * process left. Call once, before the first append; these records are then appended again to
   * a new segment, and the old files are deleted (or, within the retention, kept as history).
   */
  async recover(): Promise<LoggedRecord<R>[]> {
    const files = segmentFiles(this.options.dir);
    // Streamed file by file, dropping records as their checkpoints go by: memory holds what is
    // pending, not the history. A record appended again by an earlier recovery is the same
    // record (same shard and id) and is kept once.
    const pending = new Map<string, Map<string, R>>();
    for (const file of files) {
      for (const entry of segmentEntries<R>(join(this.options.dir, file))) {
        if ('checkpoint' in entry) {
          const shard = pending.get(entry.shard);
          if (!shard?.has(entry.checkpoint)) continue;
          for (const id of shard.keys()) {
            shard.delete(id);
            if (id === entry.checkpoint) break;
          }
        } else {
          const shard = pending.get(entry.shard) ?? new Map<string, R>();
          pending.set(entry.shard, shard);
          const id = this.options.identify(entry.record);
          if (!shard.has(id)) shard.set(id, entry.record);
        }
      }
      const index = Number(file.slice(0, -SEGMENT_SUFFIX.length));
      if (Number.isInteger(index)) this.nextSegment = Math.max(this.nextSegment, index + 1);
    }
    const remaining: LoggedRecord<R>[] = [];
    for (const [shard, records] of pending) for (const record of records.values()) remaining.push({ shard, record });
    // Keep them in a fresh segment first: a crash before the old files go replays twice at worst.
    const retained: Segment[] = [];
    const now = this.clock();
    for (const file of files) {
      const path = join(this.options.dir, file);
      const { mtimeMs, size } = statSync(path);
      // Settled as far as this process goes: what was pending in it is appended again below.
      if (now - mtimeMs < this.retentionMs) retained.push({ path, last: new Map(), bytes: size, writtenAt: mtimeMs });
    }
    this.segments.unshift(...retained);
    if (remaining.length > 0) await this.append(remaining);
    const kept = new Set(retained.map((segment) => segment.path));
    for (const file of files) if (!kept.has(join(this.options.dir, file))) rmSync(join(this.options.dir, file), { force: true });
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
      segment.writtenAt = this.clock();
      for (const { shard, position } of marks) segment.last.set(shard, Math.max(segment.last.get(shard) ?? 0, position));
      for (const pending of round) pending.done?.resolve();
      await this.compact();
    } catch (error) {
      for (const pending of round) pending.done?.reject(error);
    }
  }

  private async currentSegment(): Promise<Segment> {
    let segment = this.segments.at(-1);
    // A segment kept from a previous process is closed: this process writes its own.
    if (!segment || !this.handle || segment.bytes >= this.segmentBytes) {
      await this.handle?.close();
      const path = join(this.options.dir, `${String(this.nextSegment++).padStart(10, '0')}${SEGMENT_SUFFIX}`);
      this.handle = await open(path, 'a');
      segment = { path, last: new Map(), bytes: 0, writtenAt: this.clock() };
      this.segments.push(segment);
    }
    return segment;
  }

  /** Deletes closed segments whose every record is checkpointed and that are past the retention. */
  private async compact(): Promise<void> {
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const settled = [...oldest.last].every(([shard, position]) => (this.checkpointed.get(shard) ?? 0) >= position);
      if (!settled || this.clock() - oldest.writtenAt < this.retentionMs) return;
      rmSync(oldest.path, { force: true });
      this.segments.shift();
    }
  }
}

type SegmentEntry<R> = { readonly shard: string; readonly record: R } | { readonly shard: string; readonly checkpoint: string };

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(SEGMENT_SUFFIX))
    .sort();
}

function* segmentEntries<R>(path: string): Generator<SegmentEntry<R>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // A reader in another process can lose the race with the owner's compaction.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    let entry: { s?: string; r?: R; c?: string; id?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // the torn tail of a write the crash interrupted: never acknowledged
    }
    if (typeof entry.c === 'string' && typeof entry.id === 'string') yield { shard: entry.c, checkpoint: entry.id };
    else if (typeof entry.s === 'string' && entry.r !== undefined) yield { shard: entry.s, record: entry.r };
  }
}

/**
 * The records a log directory holds for `shard` that `select` accepts, each once, in append
 * order: the stream's history, read by another process (a replay) while the owner runs.
 * Delivered or not makes no difference; records past the retention are gone.
 */
export function readLogged<R>(dir: string, shard: string, identify: (record: R) => string, select: (record: R) => boolean): R[] {
  let files: string[];
  try {
    files = segmentFiles(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found = new Map<string, R>();
  for (const file of files) {
    for (const entry of segmentEntries<R>(join(dir, file))) {
      if ('checkpoint' in entry || entry.shard !== shard || !select(entry.record)) continue;
      const id = identify(entry.record);
      if (!found.has(id)) found.set(id, entry.record);
    }
  }
  return [...found.values()];
}
