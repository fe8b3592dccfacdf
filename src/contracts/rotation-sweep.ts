/**
 * How the certificate rotation sweep runs, locally and in the cloud: the marker that puts a
 * pending rotation in the Devices table's `byGraceEnd` index, how often the cloud schedule runs
 * and how many rotations one run finishes at once.
 */

/** Attribute (the index's partition key) a device carries only while a rotation is pending. */
export const ROTATION_DUE_ATTRIBUTE = 'rotationDue';

/** Its one value: every pending rotation sits in one index partition, ordered by grace end. */
export const ROTATION_DUE_PARTITION = 'PENDING';

/** The index the sweep queries. */
export const ROTATION_DUE_INDEX = 'byGraceEnd';

/**
 * Minutes between cloud runs (EventBridge rate): an old certificate stays valid at most this
 * long after its grace period ends.
 */
export const DEFAULT_ROTATION_SWEEP_MINUTES = 5;

/** CDK context key of the cloud interval in minutes (1..60). */
export const ROTATION_SWEEP_CONTEXT = 'rotationSweepMinutes';

/**
 * Rotations finished at once: each finish is five or six IoT control-plane calls, and a few in
 * flight keep a fleet-wide rotation well under IoT's per-account request rates.
 */
export const ROTATION_SWEEP_CONCURRENCY = 4;
