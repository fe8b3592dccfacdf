/**
 * The durable half of a local stream: records are appended to segment files under the data
 * directory before `append` resolves, so what a stand-in acknowledges (a PUBACK, a DynamoDB
 * write response) survives a SIGKILL: once write(2) returns, the data is the kernel's, whatever
 * happens to the process. Surviving a power loss as well takes `fsync: true` (an fdatasync per
 * round, which adds the disk's flush latency to every acknowledgement). Appends that arrive
 * while a write is running go out together in the next one (group commit). Checkpoints (the
 * last record of a shard the mapping is done with) go into the same files without waiting for
 * the disk: a checkpoint lost in a crash only means those records are delivered again, and
 * every consumer is idempotent.
 *
 * The files are also where a backlog waits: a record appended as `spilled` is not kept in
 * memory by its caller, and `read` hands the spilled records of a shard back, in order, from
 * the files. So memory holds what is about to be delivered, and a consumer that falls behind
 * costs disk, not heap. After a crash, `recover` leaves every undelivered record in its file
 * and counts it as spilled.
 *
 * A segment is deleted once every record in it is checkpointed and, with `retentionMs`, once
 * its last write is older than that: without retention the files hold about what is still
 * pending; with it they are the stream's history too, which {@link readLogged} reads back (the
 * ingest stream keeps records as Kinesis does, so a range given up on can be replayed).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

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
  /** Bytes written (and readable) so far. */
  bytes: number;
  /** Epoch ms of its last write. */
  writtenAt: number;
}

/** Where the next spilled record of a shard is: a line start in a segment. */
interface Cursor {
  segment: Segment;
  offset: number;
}

interface ShardState {
  /** Position of the last record appended (a per-shard count, so segments compare with checkpoints). */
  appended: number;
  /** Position of the last record the mapping is done with. */
  checkpointed: number;
  /** Spilled records not read back yet. */
  unread: number;
  /** Where `read` continues; undefined until the first spilled record is on disk. */
  cursor?: Cursor;
}

interface Pending {
  readonly line: string;
  readonly shard?: string;
  readonly position?: number;
  /** This record starts a shard's spilled run: its location becomes the shard's read cursor. */
  readonly startsSpill?: boolean;
  readonly done?: { resolve: () => void; reject: (error: unknown) => void };
}

const SEGMENT_SUFFIX = '.log';
/** Bytes read per step when spilled records are read back; a longer line doubles it. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** An append-only, group-committed record log with per-shard checkpoints and spilled records read back in order. */
export class DurableLog<R> {
  private readonly segmentBytes: number;
  private readonly segments: Segment[] = [];
  /** The segment appends go to; recovered segments are only read. */
  private current: Segment | undefined;
  private handle: FileHandle | undefined;
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private nextSegment = 0;
  private readonly shards = new Map<string, ShardState>();
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
   * Finds the records a previous process left undelivered (after each shard's last checkpoint)
   * and counts them as spilled: they stay in their files and `read` returns them. Call once,
   * before the first append. Resolves with the count per shard.
   */
  async recover(): Promise<Map<string, number>> {
    const files = segmentFiles(this.options.dir);
    // Checkpoints come after their records, so the last checkpoint of each shard is found first.
    const checkpoints = new Map<string, string>();
    for (const file of files) {
      for (const { line } of lines(await readFile(join(this.options.dir, file)))) {
        if (!line.startsWith('{"c":')) continue;
        const entry = parse<{ c?: unknown; id?: unknown }>(line);
        if (typeof entry?.c === 'string' && typeof entry.id === 'string') checkpoints.set(entry.c, entry.id);
      }
    }
    for (const file of files) {
      const path = join(this.options.dir, file);
      const { size, mtimeMs } = statSync(path);
      const segment: Segment = { path, last: new Map(), bytes: size, writtenAt: mtimeMs };
      for (const { line, end } of lines(await readFile(path))) {
        const record = parseRecord<R>(line);
        if (!record) continue; // a checkpoint, or the torn tail of a write the crash interrupted: never acknowledged
        const state = this.shard(record.s);
        state.appended += 1;
        segment.last.set(record.s, state.appended);
        if (this.options.identify(record.r) === checkpoints.get(record.s)) {
          state.checkpointed = state.appended;
          state.cursor = { segment, offset: end };
        }
      }
      this.segments.push(segment);
      const index = Number(file.slice(0, -SEGMENT_SUFFIX.length));
      if (Number.isInteger(index)) this.nextSegment = Math.max(this.nextSegment, index + 1);
    }
    const left = new Map<string, number>();
    for (const [shard, state] of this.shards) {
      state.unread = state.appended - state.checkpointed;
      if (state.unread === 0) {
        state.cursor = undefined;
        continue;
      }
      // No checkpoint in the files left: every record of the shard in them is undelivered.
      if (state.checkpointed === 0 || !state.cursor) state.cursor = { segment: this.segments[0]!, offset: 0 };
      left.set(shard, state.unread);
    }
    await this.compact();
    return left;
  }

  /**
   * Appends a record to `shard`; resolves once it is on disk. A `spilled` record is not kept by
   * the caller: `read` returns it later, after the shard's earlier spilled records.
   */
  append(shard: string, record: R, spilled = false): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The stream log is closed'));
    const state = this.shard(shard);
    state.appended += 1;
    const startsSpill = spilled && state.unread === 0 && !state.cursor;
    if (spilled) state.unread += 1;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line: `${JSON.stringify({ s: shard, r: record })}\n`, shard, position: state.appended, startsSpill, done: { resolve, reject } });
      this.kick();
    });
  }

  /** Spilled records of `shard` not yet read (some may still be on their way to the disk). */
  unread(shard: string): number {
    return this.shards.get(shard)?.unread ?? 0;
  }

  /**
   * Reads back up to `max` spilled records of `shard`, in append order. Returns fewer (or none)
   * when the next ones are still being written. Not to be called twice at once for a shard.
   */
  async read(shard: string, max: number): Promise<R[]> {
    const state = this.shards.get(shard);
    const out: R[] = [];
    let chunk = READ_CHUNK_BYTES;
    while (state && state.cursor && state.unread > 0 && out.length < max) {
      const { segment, offset } = state.cursor;
      if (offset >= segment.bytes) {
        if (segment === this.current) break; // the rest is still being written
        const at = this.segments.indexOf(segment);
        // A compacted segment held nothing of this shard's spilled run: the next one does.
        const next = at === -1 ? this.segments[0] : this.segments[at + 1];
        if (!next) break;
        state.cursor = { segment: next, offset: 0 };
        continue;
      }
      const length = Math.min(segment.bytes - offset, chunk);
      const buffer = Buffer.allocUnsafe(length);
      const file = await open(segment.path, 'r');
      try {
        await file.read(buffer, 0, length, offset);
      } finally {
        await file.close();
      }
      let consumed = 0;
      for (const { line, end } of lines(buffer)) {
        if (out.length >= max || state.unread === 0) break;
        consumed = end;
        const record = parseRecord<R>(line);
        if (record?.s !== shard) continue;
        out.push(record.r);
        state.unread -= 1;
      }
      if (consumed === 0) {
        // No whole line in the chunk: a long line (read more), or a torn tail at the end of a segment of a crashed process.
        if (length < segment.bytes - offset) chunk *= 2;
        else if (segment !== this.current) state.cursor = { segment, offset: segment.bytes };
        else break;
        continue;
      }
      state.cursor = { segment, offset: offset + consumed };
    }
    if (state && state.unread === 0) state.cursor = undefined;
    return out;
  }

  /** Marks the next `count` records of `shard` (the last of them `id`) as done. */
  checkpoint(shard: string, id: string, count: number): void {
    if (this.closed) return;
    const state = this.shard(shard);
    state.checkpointed = Math.min(state.appended, state.checkpointed + count);
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

  private shard(key: string): ShardState {
    let state = this.shards.get(key);
    if (!state) {
      state = { appended: 0, checkpointed: 0, unread: 0 };
      this.shards.set(key, state);
    }
    return state;
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = this.flushRound().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushRound(): Promise<void> {
    const round = this.queue;
    this.queue = [];
    if (round.length === 0) return;
    try {
      const segment = await this.currentSegment();
      const text = round.map((p) => p.line).join('');
      const buffer = Buffer.from(text, 'utf8');
      await this.handle!.write(buffer);
      if (this.options.fsync) await this.handle!.datasync();
      let offset = segment.bytes;
      for (const pending of round) {
        if (pending.shard !== undefined && pending.position !== undefined) {
          segment.last.set(pending.shard, Math.max(segment.last.get(pending.shard) ?? 0, pending.position));
          const state = this.shard(pending.shard);
          if (pending.startsSpill && state.unread > 0 && !state.cursor) state.cursor = { segment, offset };
        }
        offset += Buffer.byteLength(pending.line, 'utf8');
      }
      segment.bytes += buffer.byteLength;
      segment.writtenAt = this.clock();
      for (const pending of round) pending.done?.resolve();
      await this.compact();
    } catch (error) {
      for (const pending of round) pending.done?.reject(error);
    }
  }

  private async currentSegment(): Promise<Segment> {
    let segment = this.current;
    if (!segment || segment.bytes >= this.segmentBytes) {
      await this.handle?.close();
      const path = join(this.options.dir, `${String(this.nextSegment++).padStart(10, '0')}${SEGMENT_SUFFIX}`);
      this.handle = await open(path, 'a');
      segment = { path, last: new Map(), bytes: 0, writtenAt: this.clock() };
      this.segments.push(segment);
      this.current = segment;
    }
    return segment;
  }

  /** Deletes the oldest segments while every record in them is checkpointed and they are past the retention (never the one being written). */
  private async compact(): Promise<void> {
    while (this.segments.length > 0 && this.segments[0] !== this.current) {
      const oldest = this.segments[0]!;
      const settled = [...oldest.last].every(([shard, position]) => (this.shards.get(shard)?.checkpointed ?? 0) >= position);
      if (!settled || this.clock() - oldest.writtenAt < this.retentionMs) return;
      rmSync(oldest.path, { force: true });
      this.segments.shift();
    }
  }
}

/** Each complete line of `buffer` and the offset just past its newline. */
function* lines(buffer: Buffer): Generator<{ line: string; end: number }> {
  let start = 0;
  for (let nl = buffer.indexOf(0x0a, start); nl !== -1; nl = buffer.indexOf(0x0a, start)) {
    if (nl > start) yield { line: buffer.toString('utf8', start, nl), end: nl + 1 };
    else yield { line: '', end: nl + 1 };
    start = nl + 1;
  }
}

function parse<T>(line: string): T | undefined {
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}

/** A record line (`{"s":shard,"r":record}`), or undefined for a checkpoint or a torn line. */
function parseRecord<R>(line: string): { s: string; r: R } | undefined {
  if (!line.startsWith('{"s":')) return undefined;
  const entry = parse<{ s?: unknown; r?: R }>(line);
  return typeof entry?.s === 'string' && entry.r !== undefined ? { s: entry.s, r: entry.r } : undefined;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(SEGMENT_SUFFIX))
    .sort();
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
    let buffer: Buffer;
    try {
      buffer = readFileSync(join(dir, file));
    } catch (error) {
      // A reader in another process can lose the race with the owner's compaction.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const { line } of lines(buffer)) {
      const entry = parseRecord<R>(line);
      if (entry?.s !== shard || !select(entry.r)) continue;
      const id = identify(entry.r);
      if (!found.has(id)) found.set(id, entry.r);
    }
  }
  return [...found.values()];
}
