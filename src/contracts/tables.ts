/**
 * Key schemas and indexes of every DynamoDB table: the single source of truth read by the
 * CDK storage construct (lib/) and by the local runtime that creates the same tables in
 * dynalite. Plain data: neither aws-cdk-lib nor the AWS SDK is imported here.
 */
import { ROTATION_DUE_ATTRIBUTE, ROTATION_DUE_INDEX } from './rotation-sweep.js';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly projection:
    | { readonly type: 'KEYS_ONLY' | 'ALL' }
    | { readonly type: 'INCLUDE'; readonly nonKeyAttributes: readonly string[] };
}

export interface TableDefinition {
  /** Logical name: CDK construct id and the stem of the environment variable. */
  readonly id: string;
  /** Environment variable that carries the physical table name to runtime code. */
  readonly tableNameEnv: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
  /** DynamoDB Streams view; locally served by the change-capture stand-in. */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
  /** TTL attribute (epoch seconds); dynalite ignores TTL, so no tested path relies on expiry. */
  readonly timeToLiveAttribute?: string;
}

/**
 * Devices. One item per device keyed by id. Listing goes through GSIs ordered by
 * `createdKey` (createdAt#id, stable and unique). Index keys are written only by registry
 * changes, never by telemetry, so the ingest path causes no index writes. `byGraceEnd` is
 * sparse: a device carries `rotationDue` only while a certificate rotation is pending, so the
 * rotation sweep reads the rotations whose grace has ended, never a scan.
 */
export const DEVICES_TABLE: TableDefinition = {
  id: 'Devices',
  tableNameEnv: 'DEVICES_TABLE_NAME',
  partitionKey: { name: 'id', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'byCreated',
      partitionKey: { name: 'listPk', type: 'S' },
      sortKey: { name: 'createdKey', type: 'S' },
      projection: { type: 'KEYS_ONLY' },
    },
    {
      indexName: 'byStatus',
      partitionKey: { name: 'status', type: 'S' },
      sortKey: { name: 'createdKey', type: 'S' },
      projection: { type: 'INCLUDE', nonKeyAttributes: ['type'] },
    },
    {
      indexName: 'byType',
      partitionKey: { name: 'type', type: 'S' },
      sortKey: { name: 'createdKey', type: 'S' },
      projection: { type: 'KEYS_ONLY' },
    },
    {
      indexName: ROTATION_DUE_INDEX,
      partitionKey: { name: ROTATION_DUE_ATTRIBUTE, type: 'S' },
      sortKey: { name: 'graceEndsAt', type: 'S' },
      projection: { type: 'KEYS_ONLY' },
    },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
};

/** Fleet counters, sharded (see the stats projector). No stream: it is the feed's output. */
export const STATS_TABLE: TableDefinition = {
  id: 'Stats',
  tableNameEnv: 'STATS_TABLE_NAME',
  partitionKey: { name: 'pk', type: 'S' },
  globalSecondaryIndexes: [],
};

/** Telemetry points when `telemetryStore` is `dynamodb`: time-bucketed, expiring by TTL. */
export const TELEMETRY_TABLE: TableDefinition = {
  id: 'Telemetry',
  tableNameEnv: 'TELEMETRY_TABLE_NAME',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [],
  timeToLiveAttribute: 'expiresAt',
};

/**
 * Alarms: rules (pk `RULE`), their immutable versions (pk `RULE#<id>`), one instance per
 * (rule, device) that ever left NORMAL (pk `DEV#<deviceId>`, so the ingest path reads a device's
 * alarms with one Query) and each instance's transition history (pk `HIST#<alarmId>`). Instance
 * writes happen only on transitions; the stream carries each one to history and notifications.
 * The indexes are sparse: only instances carry their keys (and `snoozeDue` only while snoozed).
 */
export const ALARMS_TABLE: TableDefinition = {
  id: 'Alarms',
  tableNameEnv: 'ALARMS_TABLE_NAME',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    { indexName: 'byRule', partitionKey: { name: 'ruleId', type: 'S' }, sortKey: { name: 'deviceId', type: 'S' }, projection: { type: 'ALL' } },
    { indexName: 'byState', partitionKey: { name: 'state', type: 'S' }, sortKey: { name: 'changedKey', type: 'S' }, projection: { type: 'ALL' } },
    { indexName: 'byChanged', partitionKey: { name: 'listPk', type: 'S' }, sortKey: { name: 'changedKey', type: 'S' }, projection: { type: 'ALL' } },
    { indexName: 'bySnoozeEnd', partitionKey: { name: 'snoozeDue', type: 'S' }, sortKey: { name: 'snoozeUntil', type: 'N' }, projection: { type: 'KEYS_ONLY' } },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
};

/**
 * Commands, one item per command keyed by id. Sparse indexes hold a command only while it
 * needs them: byQueue while it waits for its device (delivery order on connect), byDeadline
 * while it is not final (the timeout sweep reads only what is due, never a scan). No TTL:
 * timeouts are enforced by the sweep, and finished commands stay listable.
 */
export const COMMANDS_TABLE: TableDefinition = {
  id: 'Commands',
  tableNameEnv: 'COMMANDS_TABLE_NAME',
  partitionKey: { name: 'id', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'byDevice',
      partitionKey: { name: 'deviceId', type: 'S' },
      sortKey: { name: 'createdKey', type: 'S' },
      projection: { type: 'INCLUDE', nonKeyAttributes: ['status'] },
    },
    {
      indexName: 'byQueue',
      partitionKey: { name: 'queuedFor', type: 'S' },
      sortKey: { name: 'createdKey', type: 'S' },
      projection: { type: 'KEYS_ONLY' },
    },
    {
      indexName: 'byDeadline',
      partitionKey: { name: 'deadlinePk', type: 'S' },
      sortKey: { name: 'deadlineKey', type: 'S' },
      projection: { type: 'KEYS_ONLY' },
    },
  ],
  stream: 'NEW_AND_OLD_IMAGES',
};

/** Twins (desired and reported state), one item per device, apart from the registry item so a large twin never slows registry reads. */
export const TWINS_TABLE: TableDefinition = {
  id: 'Twins',
  tableNameEnv: 'TWINS_TABLE_NAME',
  partitionKey: { name: 'deviceId', type: 'S' },
  globalSecondaryIndexes: [],
};

/** Every table the platform uses. */
export const ALL_TABLES: readonly TableDefinition[] = [DEVICES_TABLE, STATS_TABLE, TELEMETRY_TABLE, ALARMS_TABLE, COMMANDS_TABLE, TWINS_TABLE];
