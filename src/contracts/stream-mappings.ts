/**
 * The Lambda event source mappings of the platform's two streams: the CDK constructs configure
 * them and the local stand-ins (the Kinesis batcher, the DynamoDB Streams poller) behave by the
 * same numbers. Batch size and window of the ingest stream live in ingest-settings.ts because
 * they are also CDK context flags.
 */

/** How a mapping retries and gives up; every mapping bisects on error and reports batch item failures. */
export interface StreamMappingSettings {
  /** Retries of a failing record before it goes to the on-failure destination. */
  readonly retryAttempts: number;
  /** Records older than this go to the on-failure destination instead of being retried. */
  readonly maxRecordAgeSeconds: number;
  /** Concurrent batches per shard; 1 keeps each device's records in order. */
  readonly parallelizationFactor: number;
}

/**
 * Kinesis → ingest Lambda. 12 h of retries covers a long outage of the telemetry store inside
 * the stream's 24 h retention; one batch per shard keeps lastSeen monotonic without a read.
 */
export const INGEST_STREAM_MAPPING: StreamMappingSettings = Object.freeze({
  retryAttempts: 10,
  maxRecordAgeSeconds: 12 * 3600,
  parallelizationFactor: 1,
});

/**
 * How long records given up on stay replayable (`iotctl ingest replay`) after the ingest mapping's
 * maximum record age: the stream keeps records for maxRecordAge + this window, so an operator
 * paged by the failure-queue alarm has this long to fix the cause and replay. 12 h keeps the
 * stream at Kinesis' included 24 h retention (no extended-retention charge); raise it with the
 * CDK context flag {@link INGEST_REPLAY_WINDOW_CONTEXT} (hours; docs/runbook.md gives the price).
 */
export const INGEST_REPLAY_WINDOW_SECONDS = 12 * 3600;

/** CDK context key overriding the replay window, in whole hours. */
export const INGEST_REPLAY_WINDOW_CONTEXT = 'ingestReplayWindowHours';

/** DynamoDB Streams of the Devices table → events Lambda, in batches of {@link CHANGE_STREAM_BATCH_SIZE}. */
export const CHANGE_STREAM_MAPPING: StreamMappingSettings = Object.freeze({
  retryAttempts: 5,
  // Streams keep records 24 h; 6 h leaves time to replay from the DLQ before they are gone.
  maxRecordAgeSeconds: 6 * 3600,
  // Subscribers (deviceUpdated, WatchDevices) rely on each device's changes arriving in order.
  parallelizationFactor: 1,
});

/** Stream records per events Lambda invocation. */
export const CHANGE_STREAM_BATCH_SIZE = 100;
