/**
 * The presence reconciler as one composition, run by its Lambda module on a schedule (truth:
 * IoT's connectivity) and by the local platform on a timer (truth: the broker's sessions): the
 * same use case, debounce and counts; only the source of truth differs.
 */
import { PRESENCE_RECONCILER_METRICS } from '../contracts/metrics.js';
import { PRESENCE_RECONCILE_DEBOUNCE_MS } from '../contracts/presence-reconcile.js';
import { createPresenceReconciler, type ConnectivitySource, type PresenceReconcilerDeps, type ReconcileSummary } from '../devices/presence-reconciler.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsRecorder } from '../ports/metrics.js';

/** What the presence reconciler is built from. */
export interface PresenceReconcilerPorts {
  readonly repository: PresenceReconcilerDeps['repository'];
  readonly devices: PresenceReconcilerDeps['devices'];
  readonly truth: ConnectivitySource;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  /** Told about each correction. @default an info line on the logger */
  readonly onCorrection?: (deviceId: string, reason: string) => void;
  /** Devices read per index page and asked about per round. @default 100 */
  readonly pageSize?: number;
}

/** One reconcile run (`debounceMs: 0` at a local startup, when no event can be in flight); counts are flushed at its end. */
export function composePresenceReconcilerFunction(ports: PresenceReconcilerPorts): (options?: { debounceMs?: number }) => Promise<ReconcileSummary> {
  const { logger, metrics } = ports;
  const reconcile = createPresenceReconciler({
    repository: ports.repository,
    devices: ports.devices,
    truth: ports.truth,
    debounceMs: PRESENCE_RECONCILE_DEBOUNCE_MS,
    ...(ports.pageSize !== undefined && { pageSize: ports.pageSize }),
    onCorrection: ports.onCorrection ?? ((deviceId, reason) => logger.info('Presence corrected', { deviceId, status: 'OFFLINE', reason })),
  });
  return async (options) => {
    try {
      const summary = await reconcile(options);
      metrics.count(PRESENCE_RECONCILER_METRICS.checked, summary.checked);
      metrics.count(PRESENCE_RECONCILER_METRICS.corrections, summary.corrected);
      logger.info('Presence reconciled', { ...summary });
      return summary;
    } finally {
      metrics.flush();
    }
  };
}
