/**
 * How the presence reconciler runs, locally and in the cloud: one debounce for both (the core
 * use case is the same; only the source of truth differs), the cloud schedule and the alarm on
 * its corrections, each overridable by a CDK context flag.
 */

/**
 * A device whose status changed less than this ago is left to its own lifecycle events, which
 * are probably in flight; with at most one correction per device per run, a flapping connection
 * costs at most one correction per interval.
 */
export const PRESENCE_RECONCILE_DEBOUNCE_MS = 5_000;

/** Minutes between cloud runs (EventBridge rate); also the longest a lost event leaves a device ONLINE. */
export const DEFAULT_PRESENCE_RECONCILE_MINUTES = 5;

/** CDK context key of the cloud interval in minutes (1..60). */
export const PRESENCE_RECONCILE_CONTEXT = 'presenceReconcileMinutes';

/**
 * Corrections in one interval above which the alarm fires: a few are lost events (a Lambda
 * dropped, a crash); dozens at once mean the presence pipeline itself is broken.
 */
export const DEFAULT_PRESENCE_CORRECTIONS_THRESHOLD = 20;

/** CDK context key of that threshold. */
export const PRESENCE_CORRECTIONS_CONTEXT = 'presenceCorrectionsAlarmThreshold';
