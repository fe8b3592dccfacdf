/**
 * The CloudWatch metrics the functions emit (Powertools EMF) and the alarms and dashboard read.
 * Powertools adds the dimension `service` = POWERTOOLS_SERVICE_NAME to every metric, so a
 * metric is identified by namespace, name and the emitting function's service name.
 */

/** POWERTOOLS_METRICS_NAMESPACE of every function. */
export const METRICS_NAMESPACE = 'IotPlatform';

/** The Powertools dimension that tells the emitting function apart. */
export const SERVICE_DIMENSION = 'service';

/** POWERTOOLS_SERVICE_NAME of each function: the value of the `service` dimension of its metrics. */
export const SERVICE_NAMES = {
  ingest: 'ingest',
  presence: 'presence',
  changeFeed: 'change-feed',
  graphql: 'graphql',
  presenceReconciler: 'presence-reconciler',
  deviceControl: 'device-control',
  commandTimeouts: 'command-timeouts',
  alarmEvents: 'alarm-events',
  alarmSweep: 'alarm-sweep',
  rotationSweep: 'rotation-sweep',
} as const;

/** Metrics of the ingest function, one value per batch. */
export const INGEST_METRICS = {
  received: 'RecordsReceived',
  stored: 'PointsStored',
  deadLettered: 'RecordsDeadLettered',
  stateWrites: 'DeviceStateWrites',
  failed: 'RecordsFailed',
} as const;

/** Metrics of the change-feed (events) function, one value per batch. */
export const CHANGE_FEED_METRICS = {
  records: 'ChangeRecords',
  batchItemFailures: 'ChangeBatchItemFailures',
} as const;

/** Metrics of the GraphQL resolver function, one value per field resolution. */
export const RESOLVER_METRICS = {
  resolutions: 'Resolutions',
  errors: 'ResolverErrors',
  /** InternalFailure only: the errors that need a person. */
  unexpectedErrors: 'ResolverUnexpectedErrors',
} as const;

/** Metrics the gRPC service's call log lines become (a log metric filter on its JSON lines). */
export const GRPC_METRICS = {
  calls: 'GrpcCalls',
  internalErrors: 'GrpcInternalErrors',
} as const;

/** Metrics of the command sweep (timeouts and re-drive), one value per run. */
export const COMMAND_SWEEP_METRICS = {
  timedOut: 'CommandsTimedOut',
  /** Waiting commands the re-drive published to their ONLINE device. */
  redelivered: 'CommandsRedelivered',
  /** Waiting commands set FAILED after repeated failed publishes: each needs a look. */
  gaveUp: 'CommandDeliveriesGivenUp',
} as const;

/** Metrics of the presence reconciler, one value per run. */
export const PRESENCE_RECONCILER_METRICS = {
  /** ONLINE devices compared with IoT's connectivity. */
  checked: 'PresenceChecked',
  /** Devices set OFFLINE because IoT had no connection for them: each one is a lost lifecycle event. */
  corrections: 'PresenceCorrections',
} as const;

/** Metrics of the certificate rotation sweep, one value per run. */
export const ROTATION_SWEEP_METRICS = {
  /** Rotations whose grace had ended and whose old certificate the sweep retired. */
  finished: 'RotationsFinished',
  /** Due rotations the sweep could not finish this run (each is retried next run and logged). */
  failed: 'RotationFinishFailures',
} as const;
