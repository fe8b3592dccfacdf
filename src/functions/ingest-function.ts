/**
 * The ingest function as one composition, built by its Lambda module (lambdas/ingest) and by the
 * local IoT Core, so both run the same handler with the same metrics and log lines.
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { INGEST_METRICS } from '../contracts/metrics.js';
import { createIngestHandler } from '../devices/ingest-handler.js';
import type { DeadLetterQueue } from '../ports/dead-letter.js';
import type { DeviceStateWriter } from '../ports/device-state-writer.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsRecorder } from '../ports/metrics.js';
import type { TelemetryWriter } from '../ports/telemetry-store.js';
import type { AlarmEvaluatorPort } from '../alarms/alarm-evaluation.js';

/** What the ingest function is built from. */
export interface IngestFunctionPorts {
  readonly devices: DeviceStateWriter;
  readonly telemetry: TelemetryWriter;
  readonly deadLetters: DeadLetterQueue;
  /** Alarm rules evaluated in the batches; none when absent. */
  readonly alarms?: AlarmEvaluatorPort;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
}

/** The Kinesis batch handler (ReportBatchItemFailures); counts are flushed at the end of every batch. */
export function composeIngestFunction(ports: IngestFunctionPorts): (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse> {
  const { logger, metrics } = ports;
  const ingest = createIngestHandler({
    devices: ports.devices,
    telemetry: ports.telemetry,
    deadLetters: ports.deadLetters,
    ...(ports.alarms && { alarms: ports.alarms }),
    observer: {
      batch: (summary) => {
        metrics.count(INGEST_METRICS.received, summary.records);
        metrics.count(INGEST_METRICS.stored, summary.stored);
        metrics.count(INGEST_METRICS.deadLettered, summary.deadLettered);
        metrics.count(INGEST_METRICS.stateWrites, summary.stateApplied);
        metrics.count(INGEST_METRICS.failed, summary.failed);
        if (summary.deadLettered > 0) logger.warn('Records dead-lettered', { reasons: summary.reasons });
        logger.info('Batch processed', { ...summary });
      },
      failure: (stage, error, records) => logger.error('Infrastructure failure; records will be retried', { stage, records, error }),
    },
  });
  return async (event) => {
    try {
      return await ingest(event);
    } finally {
      metrics.flush();
    }
  };
}
