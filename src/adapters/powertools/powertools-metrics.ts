/** MetricsRecorder over Powertools Metrics: counts become CloudWatch EMF lines at each flush. */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsRecorder } from '../../ports/metrics.js';

/** Records through `metrics` (namespace and service from the POWERTOOLS_* variables). */
export function powertoolsMetrics(metrics: Metrics): MetricsRecorder {
  return {
    count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value),
    flush: () => metrics.publishStoredMetrics(),
  };
}
