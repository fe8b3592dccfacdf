/**
 * The scheduled half of alarm evaluation (a scheduled Lambda in the cloud, once a minute; a
 * timer locally): ends snoozes that ran out (through the snooze-end index) and evaluates no-data
 * rules, whole-device and per-metric. A no-data rule's devices come from the Devices table's
 * index keys (by type, or all in creation order; nothing to list for a single-device rule),
 * never a Scan; its alarms from the Alarms table's byRule index. Rules with the same target
 * share one listing and one read per device.
 *
 * Reading only what is due: a device last heard from at T cannot have been silent for N seconds
 * before T + N, so after reading it the sweep remembers that time (a {@link SilenceSchedule}, in
 * the process's memory) and does not read the device again before it. A fleet sending every 10 s
 * under a 10-minute rule is read once per device per 10 minutes instead of every minute. Losing
 * the schedule (a new container) costs one read of every device, never a missed alarm.
 *
 * Writes happen only on transitions, conditional like every alarm write; a conflict is left for
 * the next run.
 */
import { ALARM_STATE_CACHE_MS } from './alarm-evaluation.js';
import type { AlarmRule, AlarmTarget, NoDataCondition } from './alarm-rule.js';
import { evaluateReadings, evaluateSilence } from './alarm-evaluator.js';
import { normalInstance, type AlarmInstance } from './alarm-state.js';
import type { AlarmCursor, AlarmStore } from './alarm-store.js';
import type { DeviceHeard, DeviceSilenceSource } from './device-silence.js';
import { ALARM_RULE_CACHE_MS, type RuleSource } from './rule-cache.js';

const RULE_PAGE = 100;
/** Device ids per index page: keys only, so a page of 1,000 is a few read units. */
const ID_PAGE = 1_000;
/** Most (rule version, device) entries a schedule keeps; the oldest are dropped beyond it (and read again). */
export const MAX_SCHEDULE_ENTRIES = 500_000;
/**
 * How long after a no-data alarm became ACTIVE the sweep still checks whether the device spoke:
 * an ingest container may hold the alarm's earlier state for ALARM_STATE_CACHE_MS and so not clear
 * it on the reading that raced the sweep; after that, the ingest path clears it on its next reading.
 */
export const ACTIVE_RECHECK_MS = ALARM_STATE_CACHE_MS + 120_000;

type NoDataRule = AlarmRule & { readonly condition: NoDataCondition };

/** What one sweep did. */
export interface SweepSummary {
  readonly snoozesEnded: number;
  /** Devices of no-data rules' targets listed (index keys). */
  readonly devicesListed: number;
  /** Devices whose silence was read (the due ones). */
  readonly devicesChecked: number;
  readonly transitions: number;
  readonly conflicts: number;
}

/** When each (rule version, device) can next be due; kept between sweeps in one process. */
export class SilenceSchedule {
  private readonly due = new Map<string, number>();

  constructor(private readonly maxEntries = MAX_SCHEDULE_ENTRIES) {}

  /** The earliest time the pair can fire, or undefined when unknown (read it). */
  notBefore(key: string): number | undefined {
    return this.due.get(key);
  }

  set(key: string, at: number): void {
    this.due.delete(key);
    if (this.due.size >= this.maxEntries) this.due.delete(this.due.keys().next().value!);
    this.due.set(key, at);
  }

  delete(key: string): void {
    this.due.delete(key);
  }

  get size(): number {
    return this.due.size;
  }
}

/** Ports of {@link sweepAlarms}. */
export interface AlarmSweepDeps {
  readonly store: Pick<AlarmStore, 'endedSnoozes' | 'getInstance' | 'getRule' | 'ruleInstances' | 'writeTransition'>;
  readonly rules: RuleSource;
  readonly devices: DeviceSilenceSource;
  /** Kept by the caller between sweeps; without one every device is read every time. */
  readonly schedule?: SilenceSchedule;
  /** How stale the ingest path's rules may be: a per-metric rule watches from this long after its last change. @default ALARM_RULE_CACHE_MS */
  readonly ruleCacheMs?: number;
  readonly now?: () => number;
  readonly onTransition?: (instance: AlarmInstance) => void;
}

const scheduleKey = (rule: AlarmRule, deviceId: string) => `${rule.id}#${rule.version}#${deviceId}`;

const targetKey = (target: AlarmTarget): string =>
  target.kind === 'ALL' ? 'ALL' : target.kind === 'DEVICE' ? `DEVICE#${target.deviceId}` : `TYPE#${target.deviceType}`;

/**
 * When the rule last heard from the device: its newest reading of the watched metric (or any
 * reading), else its registration; never before the rule watched it. A per-metric rule watches
 * from when every ingest container knows it (the rule cache age after its last change), since
 * only then are the metric's times recorded.
 */
export function lastHeard(rule: NoDataRule, device: DeviceHeard, ruleCacheMs = ALARM_RULE_CACHE_MS): number {
  const { metric } = rule.condition;
  const since = metric === undefined ? Date.parse(rule.createdAt) : Date.parse(rule.updatedAt) + ruleCacheMs;
  const heard = metric === undefined ? device.lastSeen : device.metricSeenAt[metric];
  return Math.max(heard ?? device.createdAt, since);
}

/** One sweep: ended snoozes, then every no-data rule. */
export async function sweepAlarms(deps: AlarmSweepDeps): Promise<SweepSummary> {
  const now = (deps.now ?? Date.now)();
  const schedule = deps.schedule ?? new SilenceSchedule();
  let transitions = 0;
  let conflicts = 0;
  let snoozesEnded = 0;
  let devicesListed = 0;
  let devicesChecked = 0;
  const write = async (list: readonly AlarmInstance[]): Promise<boolean> => {
    for (const next of list) {
      if (!(await deps.store.writeTransition(next))) {
        conflicts += 1;
        return false;
      }
      transitions += 1;
      deps.onTransition?.(next);
    }
    return true;
  };

  const rules = await deps.rules.rules();
  const byId = new Map(rules.map((r) => [r.id, r]));
  for (const { ruleId, deviceId } of await deps.store.endedSnoozes(now, 1_000)) {
    const rule = byId.get(ruleId) ?? (await deps.store.getRule(ruleId));
    const instance = await deps.store.getInstance(ruleId, deviceId, true);
    if (!rule || !instance) continue;
    const result = evaluateReadings(rule, instance, undefined, [], now);
    const before = transitions;
    await write(result.transitions);
    snoozesEnded += transitions - before;
  }

  const groups = new Map<string, NoDataRule[]>();
  for (const rule of rules) {
    if (rule.condition.kind !== 'NO_DATA') continue;
    const key = targetKey(rule.target);
    groups.set(key, [...(groups.get(key) ?? []), rule as NoDataRule]);
  }
  for (const group of groups.values()) {
    const stored = new Map<string, Map<string, AlarmInstance>>();
    for (const rule of group) stored.set(rule.id, await ruleAlarms(deps.store, rule.id));
    const due = (rule: NoDataRule, deviceId: string): boolean => {
      const instance = stored.get(rule.id)!.get(deviceId);
      switch (instance?.state ?? 'NORMAL') {
        case 'ACTIVE':
        case 'ACKNOWLEDGED':
          return now - Date.parse(instance!.changedAt) < ACTIVE_RECHECK_MS;
        case 'SNOOZE_DISABLED':
        case 'DISABLED':
          return false;
        default: {
          const notBefore = schedule.notBefore(scheduleKey(rule, deviceId));
          return notBefore === undefined || notBefore <= now;
        }
      }
    };
    let cursor: AlarmCursor | undefined;
    do {
      const page = await deps.devices.targetIds(group[0]!.target, ID_PAGE, cursor);
      cursor = page.cursor;
      devicesListed += page.ids.length;
      const wanted = page.ids.filter((id) => group.some((rule) => due(rule, id)));
      if (wanted.length === 0) continue;
      const heard = await deps.devices.heard(wanted);
      devicesChecked += heard.size;
      for (const id of wanted) {
        const device = heard.get(id);
        if (!device) continue;
        for (const rule of group) {
          if (!due(rule, id)) continue;
          const key = scheduleKey(rule, id);
          const instance = stored.get(rule.id)!.get(id) ?? normalInstance(rule, id, new Date(now).toISOString());
          const last = lastHeard(rule, device, deps.ruleCacheMs);
          const result = evaluateSilence(rule, instance, last, now);
          const written = await write(result.transitions);
          const state = written ? result.instance.state : undefined;
          if (state === 'NORMAL' || state === 'LATCHED') schedule.set(key, last + rule.condition.seconds * 1000);
          else schedule.delete(key);
        }
      }
    } while (cursor);
  }
  return { snoozesEnded, devicesListed, devicesChecked, transitions, conflicts };
}

async function ruleAlarms(store: AlarmSweepDeps['store'], ruleId: string): Promise<Map<string, AlarmInstance>> {
  const byDevice = new Map<string, AlarmInstance>();
  let cursor: AlarmCursor | undefined;
  do {
    const page = await store.ruleInstances(ruleId, RULE_PAGE, cursor);
    for (const instance of page.items) byDevice.set(instance.deviceId, instance);
    cursor = page.cursor;
  } while (cursor);
  return byDevice;
}
