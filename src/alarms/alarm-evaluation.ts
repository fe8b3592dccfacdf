/**
 * Alarm evaluation in the ingest path: called once per device per batch with that device's
 * accepted readings. Cost per call: nothing when no rule targets the device; otherwise at most
 * one Query of the device's stored alarms (eventually consistent, usually 0.5 read units) per
 * ALARM_STATE_CACHE_MS, and one conditional write per transition. Rules come from a
 * {@link RuleSource} (bounded staleness); device types, needed only for rules that target a
 * type, from a cache of DEVICE_TYPE_CACHE_MS.
 *
 * Concurrency: Kinesis keeps one device on one shard, so one invocation at a time evaluates a
 * device; an operator's action or the scheduler may still write in between. Every write is
 * conditional on the revision it replaces; on a conflict the instance is read again
 * (consistently) and the batch re-evaluated from it, so a stale cached state never causes a
 * doubled or contradicting transition. What staleness can do is delay one: an alarm enabled,
 * or fired by the no-data sweep, elsewhere is seen here within ALARM_STATE_CACHE_MS (the sweep
 * itself clears a no-data alarm within a minute of the device speaking).
 */
import type { AlarmRule, NoDataCondition, ThresholdCondition } from './alarm-rule.js';
import { ruleTargets } from './alarm-rule.js';
import { evaluateReadings, initialProgress, type AlarmReading, type EvaluationProgress } from './alarm-evaluator.js';
import { alarmId, normalInstance, type AlarmInstance } from './alarm-state.js';
import type { AlarmStore, PendingRun } from './alarm-store.js';
import type { RuleSource } from './rule-cache.js';

/** How long a device's stored alarms are trusted before they are read again: 5 minutes. */
export const ALARM_STATE_CACHE_MS = 300_000;
/** How long a device's type is trusted before it is read again: 10 minutes. */
export const DEVICE_TYPE_CACHE_MS = 600_000;
/** A pending duration is kept across processes once it has lasted this long (and a fifth of its rule's duration). */
export const PENDING_PERSIST_AFTER_MS = 60_000;

/**
 * The start of the pending run worth keeping across processes, if any: a duration condition
 * pending (NORMAL or LATCHED) in a run that has lasted at least the larger of a minute and a
 * fifth of the duration. Shorter runs (values flapping around the threshold) are never written:
 * at most two writes per long run (when it gets long, when it breaks), never one per reading.
 */
export function persistablePendingSince(rule: AlarmRule, instance: AlarmInstance, progress: EvaluationProgress): number | undefined {
  if (rule.condition.kind !== 'THRESHOLD' || rule.condition.forSeconds === undefined) return undefined;
  if (instance.state !== 'NORMAL' && instance.state !== 'LATCHED') return undefined;
  if (progress.breachSince === undefined) return undefined;
  const after = Math.max(PENDING_PERSIST_AFTER_MS, ((rule.condition as ThresholdCondition).forSeconds! * 1000) / 5);
  return progress.lastTs - progress.breachSince >= after ? progress.breachSince : undefined;
}

/** Most (rule, device) progress entries one process keeps; the oldest are dropped beyond it. */
export const MAX_PROGRESS_ENTRIES = 200_000;
const MAX_CONFLICT_RETRIES = 3;

/** The port the ingest handler calls: one device, its readings of one batch. */
export interface AlarmEvaluatorPort {
  evaluate(deviceId: string, readings: readonly AlarmReading[]): Promise<EvaluationSummary>;
  /** Metrics that per-metric no-data rules watch on this device: their newest times go with the device's state write, for the sweep. */
  watchedMetrics?(deviceId: string): Promise<ReadonlySet<string> | undefined>;
}

/** What one call did. */
export interface EvaluationSummary {
  readonly rules: number;
  readonly transitions: number;
  readonly conflicts: number;
  /** Late readings outside their rule's open window: stored, not evaluated (counted once per rule). */
  readonly lateSkipped: number;
}

/** Looks up a device's type; undefined when the device does not exist. */
export type DeviceTypeLookup = (deviceId: string) => Promise<string | undefined>;

/** Ports and options of {@link AlarmEvaluation}. */
export interface AlarmEvaluationDeps {
  readonly store: Pick<AlarmStore, 'deviceAlarmState' | 'getInstance' | 'writeTransition' | 'putPending' | 'deletePending'>;
  readonly rules: RuleSource;
  readonly deviceType: DeviceTypeLookup;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told about each transition written (logs, metrics). */
  readonly onTransition?: (instance: AlarmInstance) => void;
  /** @default ALARM_STATE_CACHE_MS */
  readonly stateCacheMs?: number;
}

/** Caches a device's type for DEVICE_TYPE_CACHE_MS. */
export function cachedDeviceTypes(lookup: DeviceTypeLookup, now: () => number = Date.now, maxAgeMs = DEVICE_TYPE_CACHE_MS): DeviceTypeLookup {
  const cache = new Map<string, { at: number; type: Promise<string | undefined> }>();
  return (deviceId) => {
    const hit = cache.get(deviceId);
    if (hit && now() - hit.at < maxAgeMs) return hit.type;
    if (cache.size >= MAX_PROGRESS_ENTRIES) cache.delete(cache.keys().next().value!);
    const type = lookup(deviceId);
    cache.set(deviceId, { at: now(), type });
    type.catch(() => cache.delete(deviceId));
    return type;
  };
}

/** Evaluates alarm rules for the ingest handler; keeps each (rule, device)'s progress in memory. */
export class AlarmEvaluation implements AlarmEvaluatorPort {
  private readonly progress = new Map<string, EvaluationProgress>();
  private readonly states = new Map<string, { readonly at: number; readonly byRule: Map<string, AlarmInstance>; readonly pending: Map<string, PendingRun> }>();
  /** The pending-run start this process knows is stored, per (rule, device); absent: none stored. */
  private readonly persisted = new Map<string, number>();
  private readonly now: () => number;
  private readonly stateCacheMs: number;

  constructor(private readonly deps: AlarmEvaluationDeps) {
    this.now = deps.now ?? Date.now;
    this.stateCacheMs = deps.stateCacheMs ?? ALARM_STATE_CACHE_MS;
  }

  /** Drops what this process knows of a device's alarms (a door in the same process just changed one). */
  forget(deviceId: string): void {
    this.states.delete(deviceId);
  }

  private async storedAlarms(deviceId: string): Promise<{ byRule: Map<string, AlarmInstance>; pending: Map<string, PendingRun> }> {
    const cached = this.states.get(deviceId);
    if (cached && this.now() - cached.at < this.stateCacheMs) return cached;
    const state = await this.deps.store.deviceAlarmState(deviceId);
    const entry = { at: this.now(), byRule: new Map(state.instances.map((i) => [i.ruleId, i])), pending: new Map(state.pending.map((p) => [p.ruleId, p])) };
    this.states.delete(deviceId);
    if (this.states.size >= MAX_PROGRESS_ENTRIES) this.states.delete(this.states.keys().next().value!);
    this.states.set(deviceId, entry);
    return entry;
  }

  async watchedMetrics(deviceId: string): Promise<ReadonlySet<string> | undefined> {
    const perMetric = (await this.deps.rules.rules()).filter((r) => r.condition.kind === 'NO_DATA' && r.condition.metric !== undefined);
    if (perMetric.length === 0) return undefined;
    const metrics = new Set((await this.targeting(deviceId, perMetric)).map((r) => (r.condition as NoDataCondition).metric!));
    return metrics.size > 0 ? metrics : undefined;
  }

  /** The rules of `candidates` that target the device (its type is looked up only when a rule targets a type). */
  private async targeting(deviceId: string, candidates: readonly AlarmRule[]): Promise<AlarmRule[]> {
    const needsType = candidates.some((r) => r.target.kind === 'DEVICE_TYPE');
    const type = needsType ? await this.deps.deviceType(deviceId) : undefined;
    return candidates.filter((rule) => ruleTargets(rule, { id: deviceId, type: type ?? '' }) && (rule.target.kind !== 'DEVICE_TYPE' || type !== undefined));
  }

  async evaluate(deviceId: string, readings: readonly AlarmReading[]): Promise<EvaluationSummary> {
    const all = await this.deps.rules.rules();
    if (all.length === 0 || readings.length === 0) return { rules: 0, transitions: 0, conflicts: 0, lateSkipped: 0 };
    const rules = await this.targeting(deviceId, all);
    if (rules.length === 0) return { rules: 0, transitions: 0, conflicts: 0, lateSkipped: 0 };
    const { byRule: stored, pending } = await this.storedAlarms(deviceId);
    let transitions = 0;
    let conflicts = 0;
    let lateSkipped = 0;
    for (const rule of rules) {
      const result = await this.evaluateRule(rule, deviceId, stored, pending, readings);
      transitions += result.transitions;
      conflicts += result.conflicts;
      lateSkipped += result.lateSkipped;
    }
    return { rules: rules.length, transitions, conflicts, lateSkipped };
  }

  private async evaluateRule(rule: AlarmRule, deviceId: string, stored: Map<string, AlarmInstance>, pending: Map<string, PendingRun>, readings: readonly AlarmReading[]) {
    const key = alarmId(rule.id, deviceId);
    const before = this.progress.get(key) ?? this.resumed(key, rule, stored.get(rule.id), pending.get(rule.id));
    let instance = stored.get(rule.id) ?? normalInstance(rule, deviceId, new Date(this.now()).toISOString());
    let conflicts = 0;
    for (let attempt = 0; ; attempt += 1) {
      const progress = usable(before, instance);
      const result = evaluateReadings(rule, instance, progress, readings, this.now());
      let written = 0;
      let conflict = false;
      for (const next of result.transitions) {
        if (!(await this.deps.store.writeTransition(next))) {
          conflict = true;
          break;
        }
        written += 1;
        stored.set(rule.id, next);
        this.deps.onTransition?.(next);
      }
      if (!conflict) {
        this.remember(key, result.progress);
        await this.keepPending(key, rule, deviceId, result.instance, result.progress);
        return { transitions: written, conflicts, lateSkipped: result.skipped.length };
      }
      conflicts += 1;
      if (attempt >= MAX_CONFLICT_RETRIES) throw new Error(`alarm ${key} kept changing under evaluation`);
      // Someone else moved this alarm: start again from what is stored now.
      const current = await this.deps.store.getInstance(rule.id, deviceId, true);
      if (current) stored.set(rule.id, current);
      instance = current ?? normalInstance(rule, deviceId, new Date(this.now()).toISOString());
    }
  }

  /**
   * Progress of a pair this process has not evaluated yet, from a pending run another process
   * stored: the duration goes on from the run's start instead of restarting (readings up to the
   * marker were evaluated there; the run was unbroken since, or the marker would be gone).
   */
  private resumed(key: string, rule: AlarmRule, instance: AlarmInstance | undefined, run: PendingRun | undefined): EvaluationProgress | undefined {
    if (!run || this.persisted.has(key) || run.ruleVersion !== rule.version) return undefined;
    if (instance?.evaluatedTs !== undefined && instance.evaluatedTs >= run.at) return undefined;
    this.persisted.set(key, run.since);
    return { lastTs: run.at, lastSeq: Number.POSITIVE_INFINITY, breachSince: run.since, breachCount: 0 };
  }

  /** Stores the pending run when it got long, forgets it when it broke or fired; nothing otherwise. */
  private async keepPending(key: string, rule: AlarmRule, deviceId: string, instance: AlarmInstance, progress: EvaluationProgress): Promise<void> {
    const since = persistablePendingSince(rule, instance, progress);
    const known = this.persisted.get(key);
    if (since === known) return;
    if (since === undefined) await this.deps.store.deletePending(deviceId, rule.id);
    else await this.deps.store.putPending(deviceId, { ruleId: rule.id, ruleVersion: rule.version, since, at: progress.lastTs });
    if (since === undefined) this.persisted.delete(key);
    else {
      if (this.persisted.size >= MAX_PROGRESS_ENTRIES) this.persisted.delete(this.persisted.keys().next().value!);
      this.persisted.set(key, since);
    }
  }

  private remember(key: string, progress: EvaluationProgress): void {
    this.progress.delete(key);
    if (this.progress.size >= MAX_PROGRESS_ENTRIES) this.progress.delete(this.progress.keys().next().value!);
    this.progress.set(key, progress);
  }
}

/** Progress from memory unless the stored instance was evaluated further (by another process). */
function usable(progress: EvaluationProgress | undefined, instance: AlarmInstance): EvaluationProgress {
  if (!progress) return initialProgress(instance);
  if (instance.evaluatedTs !== undefined && instance.evaluatedTs > progress.lastTs) return initialProgress(instance);
  return progress;
}
