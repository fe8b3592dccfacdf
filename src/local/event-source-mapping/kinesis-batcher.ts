/**
 * The local stand-in for a Kinesis Data Stream plus its Lambda event source mapping: records
 * are appended to shards by partition key (MD5, as Kinesis maps keys to hash ranges) with
 * increasing sequence numbers, and delivered by the one {@link EventSourceMapping} core in the
 * Kinesis record shape a Lambda receives. Durable with a data directory (`put` resolves once
 * the record is on disk), bounded, replayed on restart.
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { IngestSettings } from '../../contracts/ingest-settings.js';
import { DurableLog } from './durable-log.js';
import { EventSourceMapping, type DiscardCondition, type EventSourceMappingStats } from './event-source-mapping.js';

/** Options of {@link KinesisBatcher}. */
export interface KinesisBatcherOptions {
  readonly settings: IngestSettings;
  readonly handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>;
  /** @default 1 */
  readonly shards?: number;
  /** Retries of a failing record before it is discarded (the event source mapping's setting). @default 10 */
  readonly retryAttempts?: number;
  /** First retry delay; doubles per attempt up to 5 s. @default 100 */
  readonly retryBaseMs?: number;
  /** Records older than this are discarded instead of delivered. @default no maximum */
  readonly maxRecordAgeMs?: number;
  /** Records held before `put` waits. @default 10_000 */
  readonly maxPending?: number;
  /** Keep records here until delivered (survives a crash); in memory only when absent. */
  readonly dir?: string;
  /** The on-failure destination: records given up on, with the reason. */
  readonly onDiscard?: (records: readonly KinesisStreamRecord[], reason: string, failure: DiscardCondition) => Promise<void> | void;
  /** With `dir`: how long delivered records stay readable there (the stream's retention, for replays). @default 0 */
  readonly retentionMs?: number;
  /** @default 'arn:aws:kinesis:us-east-1:000000000000:stream/local-ingest' */
  readonly streamArn?: string;
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Counters since start. */
export type KinesisBatcherStats = EventSourceMappingStats;

// Kinesis sequence numbers are large decimal strings that increase within a shard.
const SEQUENCE_BASE = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/** Kinesis + event source mapping, in process. */
export class KinesisBatcher {
  private readonly mapping: EventSourceMapping<KinesisStreamRecord>;
  private readonly shardIds: string[];
  private readonly streamArn: string;
  private readonly region: string;
  private readonly clock: () => number;
  private lastSequence = 0n;

  constructor(options: KinesisBatcherOptions) {
    const count = options.shards ?? 1;
    this.shardIds = Array.from({ length: count }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
    this.streamArn = options.streamArn ?? 'arn:aws:kinesis:us-east-1:000000000000:stream/local-ingest';
    this.region = this.streamArn.split(':')[3] ?? 'us-east-1';
    this.clock = options.clock ?? Date.now;
    const identify = (record: KinesisStreamRecord) => record.kinesis.sequenceNumber;
    this.mapping = new EventSourceMapping<KinesisStreamRecord>({
      name: 'kinesis',
      batchSize: options.settings.batchSize,
      batchWindowMs: options.settings.batchWindowSeconds * 1000,
      handler: (records) => options.handler({ Records: records }),
      identify,
      arrivedAt: (record) => record.kinesis.approximateArrivalTimestamp * 1000,
      retryAttempts: options.retryAttempts ?? 10,
      retryBaseMs: options.retryBaseMs ?? 100,
      ...(options.maxRecordAgeMs !== undefined && { maxRecordAgeMs: options.maxRecordAgeMs }),
      ...(options.maxPending !== undefined && { maxPending: options.maxPending }),
      ...(options.dir && { log: new DurableLog<KinesisStreamRecord>({ dir: options.dir, identify, retentionMs: options.retentionMs ?? 0, clock: this.clock }) }),
      onDiscard: options.onDiscard,
      logLine: options.log,
      clock: this.clock,
    });
  }

  /** Delivers what a previous process left in the stream's directory; call before the first `put`. */
  recover(): Promise<number> {
    return this.mapping.recover();
  }

  /**
   * PutRecord: appends `data` under `partitionKey`; resolves with the record's sequence number
   * once it is durable, waiting while the stream holds its maximum.
   */
  async put(partitionKey: string, data: Uint8Array | string): Promise<string> {
    const shardId = this.shardIds[this.shardIndex(partitionKey)]!;
    // From the clock, so numbers keep increasing across restarts (dead letters are keyed by them).
    const fromClock = BigInt(Math.floor(this.clock())) * 1_000_000n;
    this.lastSequence = fromClock > this.lastSequence ? fromClock : this.lastSequence + 1n;
    const sequenceNumber = String(SEQUENCE_BASE + this.lastSequence);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    await this.mapping.put(shardId, {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey,
        sequenceNumber,
        data: bytes.toString('base64'),
        approximateArrivalTimestamp: this.clock() / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/local-ingest',
      awsRegion: this.region,
      eventSourceARN: this.streamArn,
    });
    return sequenceNumber;
  }

  /** The stream's ARN, as the records and the failure messages name it. */
  get arn(): string {
    return this.streamArn;
  }

  /** Whether a `put` would wait for room now. */
  get full(): boolean {
    return this.mapping.full;
  }

  /** Counters since start. */
  stats(): KinesisBatcherStats {
    return this.mapping.stats();
  }

  /** Delivers every record put so far without waiting for the window; resolves when none is left. */
  flush(): Promise<void> {
    return this.mapping.flush();
  }

  /** Flushes (at most `drainMs`), then refuses further records; returns how many were left for the next start. */
  stop(drainMs?: number): Promise<number> {
    return this.mapping.stop(drainMs);
  }

  private shardIndex(partitionKey: string): number {
    if (this.shardIds.length === 1) return 0;
    return createHash('md5').update(partitionKey).digest().readUInt32BE(0) % this.shardIds.length;
  }
}
