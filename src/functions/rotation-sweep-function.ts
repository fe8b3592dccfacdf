/**
 * The certificate rotation sweep as one composition, run by its Lambda module on a schedule
 * (finish: the AWS one, revoking and detaching in IoT Core) and by the local platform on a timer
 * (finish: the local one, the broker refusing the old certificate through the change feed): the
 * same sweep, counts and log lines; only the finish differs, and it is the one
 * `iotctl device rotate --finish` runs.
 */
import { ROTATION_SWEEP_METRICS } from '../contracts/metrics.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsRecorder } from '../ports/metrics.js';
import { createRotationSweep, type RotationSweepDeps, type RotationSweepSummary } from '../provisioning/rotation-sweep.js';

/** What the rotation sweep is built from. */
export interface RotationSweepPorts {
  readonly due: RotationSweepDeps['due'];
  readonly finish: RotationSweepDeps['finish'];
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  /** @default ROTATION_SWEEP_CONCURRENCY */
  readonly concurrency?: number;
  /** @default 100 */
  readonly pageSize?: number;
  readonly clock?: () => Date;
  /** Told about each finished rotation. @default an info line on the logger */
  readonly onFinished?: RotationSweepDeps['onFinished'];
}

/** A rotation that was due and could not be finished: the run reports it after finishing all the others. */
export class RotationSweepFailure extends Error {
  constructor(readonly summary: RotationSweepSummary) {
    super(`${summary.failed} due certificate rotation(s) could not be finished (each is logged as "Rotation finish failed" with its deviceId); the next run tries again`);
    this.name = 'RotationSweepFailure';
  }
}

/**
 * One sweep run; counts are flushed at its end. It rejects with RotationSweepFailure after the
 * run when any rotation failed, so the function's errors alarm tells someone.
 */
export function composeRotationSweepFunction(ports: RotationSweepPorts): () => Promise<RotationSweepSummary> {
  const { logger, metrics } = ports;
  const sweep = createRotationSweep({
    due: ports.due,
    finish: ports.finish,
    ...(ports.concurrency !== undefined && { concurrency: ports.concurrency }),
    ...(ports.pageSize !== undefined && { pageSize: ports.pageSize }),
    ...(ports.clock && { clock: ports.clock }),
    onFinished:
      ports.onFinished ??
      ((deviceId, finished) =>
        logger.info('Rotation finished: grace period over', { deviceId, retiredCertificateId: finished.retiredCertificateId, certificateId: finished.binding.certificateId })),
    onSkipped: (deviceId, reason) => logger.info('Rotation no longer due; skipped', { deviceId, reason }),
    onFailed: (deviceId, error) => logger.error('Rotation finish failed', { deviceId, error: error instanceof Error ? error : String(error) }),
  });
  return async () => {
    let summary: RotationSweepSummary;
    try {
      summary = await sweep();
      metrics.count(ROTATION_SWEEP_METRICS.finished, summary.finished);
      metrics.count(ROTATION_SWEEP_METRICS.failed, summary.failed);
      logger.info('Rotation sweep done', { ...summary });
    } finally {
      metrics.flush();
    }
    if (summary.failed > 0) throw new RotationSweepFailure(summary);
    return summary;
  };
}
