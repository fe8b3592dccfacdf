/**
 * Batching of the ingest Lambda's Kinesis event source, shared by the CDK construct (as
 * context defaults) and the local batcher (same semantics: a batch closes when it holds
 * `batchSize` records or when `batchWindowSeconds` passed since its first record).
 *
 * Why these numbers (see bench/ingest.ts): coalescing writes one device-state item per device
 * per batch, so the saving grows with how many messages of one device a batch holds. At
 * 1 message / 10 s per device a 60 s window gives up to 6 per device; 10,000 records stays
 * under Lambda's 6 MB event limit for ~400-byte records.
 */
export interface IngestSettings {
  /** Records per invocation (Kinesis event source: 1..10,000). */
  readonly batchSize: number;
  /** Maximum batching window (0..300 s). */
  readonly batchWindowSeconds: number;
}

/** Defaults; override with CDK context `ingestBatchSize` / `ingestBatchWindowSeconds`. */
export const DEFAULT_INGEST_SETTINGS: IngestSettings = Object.freeze({ batchSize: 10_000, batchWindowSeconds: 60 });

/**
 * Defaults of the local runtime (`iotctl local`): the same batch size, but a 1 s window. The
 * cloud's 60 s window buys cheaper writes; on a laptop nobody pays per write, and a reading
 * should show up in the registry about as soon as it was published. Override with the
 * environment variables INGEST_BATCH_SIZE / INGEST_BATCH_WINDOW_SECONDS.
 */
export const DEFAULT_LOCAL_INGEST_SETTINGS: IngestSettings = Object.freeze({ batchSize: 10_000, batchWindowSeconds: 1 });

/**
 * Shards of the provisioned ingest stream (CDK context `ingestShardCount`). 8 shards for the
 * reference fleet (~1,000 records/s): ~125 records/s per shard, so a 60 s window holds ~6
 * messages per device, within Lambda's 6 MB batch payload; see lib/ingest-pipeline.ts for the
 * provisioned-versus-on-demand cost argument.
 */
export const DEFAULT_INGEST_SHARD_COUNT = 8;

/** CDK context keys for the settings. */
export const INGEST_SETTINGS_CONTEXT = { batchSize: 'ingestBatchSize', batchWindowSeconds: 'ingestBatchWindowSeconds' } as const;

/** Validates settings from context or flags, each absent one taken from `defaults`; throws with the offending name. */
export function ingestSettings(
  overrides: { batchSize?: unknown; batchWindowSeconds?: unknown } = {},
  defaults: IngestSettings = DEFAULT_INGEST_SETTINGS,
): IngestSettings {
  const batchSize = toInt(overrides.batchSize, defaults.batchSize, 'batchSize', 1, 10_000);
  const batchWindowSeconds = toInt(overrides.batchWindowSeconds, defaults.batchWindowSeconds, 'batchWindowSeconds', 0, 300);
  return { batchSize, batchWindowSeconds };
}

/** The local runtime's settings: INGEST_BATCH_SIZE / INGEST_BATCH_WINDOW_SECONDS when set, else the local defaults. */
export function localIngestSettings(env: Readonly<Record<string, string | undefined>> = process.env): IngestSettings {
  return ingestSettings({ batchSize: env.INGEST_BATCH_SIZE, batchWindowSeconds: env.INGEST_BATCH_WINDOW_SECONDS }, DEFAULT_LOCAL_INGEST_SETTINGS);
}

function toInt(value: unknown, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
