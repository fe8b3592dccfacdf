/** MetricsRecorder of the local runtime: there is no CloudWatch to send counts to. */
import type { MetricsRecorder } from '../../ports/metrics.js';

/** Drops every count. */
export const DISCARDED_METRICS: MetricsRecorder = Object.freeze({ count: () => undefined, flush: () => undefined });
