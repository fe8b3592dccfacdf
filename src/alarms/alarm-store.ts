/**
 * The storage port of the alarms: rules with their versions, instances, and transition
 * history. The DynamoDB adapter is src/adapters/dynamodb/alarm-store.ts.
 */
import type { AlarmRule, AlarmSeverity } from './alarm-rule.js';
import type { AlarmInstance, AlarmState, AlarmTransition } from './alarm-state.js';

/** An opaque position in a listing (the doors sign it into a page token). */
export type AlarmCursor = Record<string, string | number>;

/** One page of a listing. */
export interface AlarmPage<T> {
  readonly items: readonly T[];
  readonly cursor?: AlarmCursor;
}

/** Filters of an alarm listing; every one given must match. */
export interface AlarmFilter {
  readonly state?: AlarmState;
  readonly severity?: AlarmSeverity;
  readonly deviceId?: string;
  readonly ruleId?: string;
}

/**
 * A duration that has been pending long enough to be worth keeping across processes: the run of
 * readings meeting `ruleId` (at `ruleVersion`) on the device started at `since` and was unbroken
 * up to `at` (event times, epoch ms). Written once when the run gets long, deleted when it breaks.
 */
export interface PendingRun {
  readonly ruleId: string;
  readonly ruleVersion: number;
  readonly since: number;
  readonly at: number;
}

/** Stores alarms; throws UnavailableError when the store cannot be reached. */
export interface AlarmStore {
  /** Creates a rule (fails with AlreadyExistsError on a taken id) and records its version 1. */
  createRule(rule: AlarmRule): Promise<void>;
  /** Replaces a rule if it still has `expectedVersion` (ConflictError otherwise) and records the new version. */
  updateRule(rule: AlarmRule, expectedVersion: number): Promise<void>;
  getRule(id: string): Promise<AlarmRule | undefined>;
  /** Every rule, in id order (a rule set is small: a few hundred at most). */
  listRules(): Promise<AlarmRule[]>;
  /** A rule as it was at `version`. */
  getRuleVersion(id: string, version: number): Promise<AlarmRule | undefined>;
  /** Deletes a rule and its instances; returns the deleted rule, or undefined when there was none. */
  deleteRule(id: string): Promise<AlarmRule | undefined>;

  getInstance(ruleId: string, deviceId: string, consistent?: boolean): Promise<AlarmInstance | undefined>;
  /** Every stored instance of one device (one Query). */
  deviceInstances(deviceId: string, consistent?: boolean): Promise<AlarmInstance[]>;
  /** A device's stored instances and pending runs, with one Query. */
  deviceAlarmState(deviceId: string): Promise<{ instances: AlarmInstance[]; pending: PendingRun[] }>;
  /** Records (or replaces) a device's pending run of a rule. */
  putPending(deviceId: string, run: PendingRun): Promise<void>;
  /** Forgets a device's pending run of a rule (nothing when there is none). */
  deletePending(deviceId: string, ruleId: string): Promise<void>;
  /** Stored instances of one rule, by device id. */
  ruleInstances(ruleId: string, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmInstance>>;
  /**
   * Writes `next` if the stored instance still has revision `next.rev - 1` (absent counts as 0).
   * False when another writer got there first: the caller reads again and re-evaluates.
   */
  writeTransition(next: AlarmInstance): Promise<boolean>;
  listAlarms(filter: AlarmFilter, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmInstance>>;
  /** Instances whose snooze ended at or before `now`. */
  endedSnoozes(now: number, limit: number): Promise<Array<{ ruleId: string; deviceId: string }>>;
  /** Number of ACTIVE alarms per severity. */
  activeBySeverity(): Promise<Record<AlarmSeverity, number>>;

  /** Records a transition in its alarm's history; recording the same rev again changes nothing. */
  appendHistory(transition: AlarmTransition): Promise<void>;
  /** An alarm's transitions, newest first. */
  history(alarmId: string, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmTransition>>;
}
