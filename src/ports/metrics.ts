/**
 * The metrics port of the functions: counts per invocation, flushed at its end. Powertools
 * Metrics (CloudWatch EMF) in the Lambdas; the local runtime has no CloudWatch and discards them.
 */
export interface MetricsRecorder {
  /** Adds `value` to the count `name` of this invocation. */
  count(name: string, value: number): void;
  /** Emits what was counted since the last flush. */
  flush(): void;
}
