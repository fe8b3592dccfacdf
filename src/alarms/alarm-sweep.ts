/**
 * The scheduled half of alarm evaluation (a scheduled Lambda in the cloud, once a minute; a
 * timer locally): ends snoozes that ran out (through the snooze-end index) and evaluates no-data
 * rules. A no-data rule's devices come from the Devices table's indexes (by type, or all in
 * creation order; one GetItem for a single-device rule), never a Scan; its alarms from the
 * Alarms table's byRule index. Writes happen only on transitions, conditional like every
 * alarm write; a conflict is left for the next run.
 */
import type { Device } from '../domain/device.js';
import type { DeviceRepository } from '../ports/device-repository.js';
import type { AlarmRule, AlarmTarget, NoDataCondition } from './alarm-rule.js';
import { evaluateReadings, evaluateSilence } from './alarm-evaluator.js';
import { normalInstance, type AlarmInstance } from './alarm-state.js';
import type { AlarmCursor, AlarmStore } from './alarm-store.js';
import type { RuleSource } from './rule-cache.js';

const PAGE = 100;

/** What one sweep did. */
export interface SweepSummary {
  readonly snoozesEnded: number;
  readonly devicesChecked: number;
  readonly transitions: number;
  readonly conflicts: number;
}

/** Ports of {@link sweepAlarms}. */
export interface AlarmSweepDeps {
  readonly store: Pick<AlarmStore, 'endedSnoozes' | 'getInstance' | 'getRule' | 'ruleInstances' | 'writeTransition'>;
  readonly rules: RuleSource;
  readonly devices: Pick<DeviceRepository, 'get' | 'list'>;
  readonly now?: () => number;
  readonly onTransition?: (instance: AlarmInstance) => void;
}

/** Devices a target covers, page by page through the registry's indexes. */
async function* targetDevices(devices: AlarmSweepDeps['devices'], target: AlarmTarget): AsyncGenerator<Device> {
  if (target.kind === 'DEVICE') {
    const device = await devices.get(target.deviceId);
    if (device) yield device;
    return;
  }
  let after;
  do {
    const page = await devices.list({ limit: PAGE, ...(target.kind === 'DEVICE_TYPE' && { type: target.deviceType }), ...(after && { after }) });
    yield* page.items;
    after = page.next;
  } while (after);
}

/** One sweep: ended snoozes, then every no-data rule. */
export async function sweepAlarms(deps: AlarmSweepDeps): Promise<SweepSummary> {
  const now = (deps.now ?? Date.now)();
  let transitions = 0;
  let conflicts = 0;
  let snoozesEnded = 0;
  let devicesChecked = 0;
  const write = async (list: readonly AlarmInstance[]) => {
    for (const next of list) {
      if (!(await deps.store.writeTransition(next))) {
        conflicts += 1;
        return;
      }
      transitions += 1;
      deps.onTransition?.(next);
    }
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

  for (const rule of rules) {
    if (rule.condition.kind !== 'NO_DATA') continue;
    const noData = rule as AlarmRule & { condition: NoDataCondition };
    const stored = new Map<string, AlarmInstance>();
    let cursor: AlarmCursor | undefined;
    do {
      const page = await deps.store.ruleInstances(rule.id, PAGE, cursor);
      for (const instance of page.items) stored.set(instance.deviceId, instance);
      cursor = page.cursor;
    } while (cursor);
    // A device silent since before the rule existed is watched from the rule's creation.
    const since = Date.parse(rule.createdAt);
    for await (const device of targetDevices(deps.devices, rule.target)) {
      devicesChecked += 1;
      const heard = device.lastSeen ? Date.parse(device.lastSeen) : Date.parse(device.createdAt);
      const instance = stored.get(device.id) ?? normalInstance(rule, device.id, new Date(now).toISOString());
      await write(evaluateSilence(noData, instance, Math.max(heard, since), now).transitions);
    }
  }
  return { snoozesEnded, devicesChecked, transitions, conflicts };
}
