/** AlarmStore in memory: the test double of the port, held to the same contract test as the DynamoDB adapter. */
import { ALARM_SEVERITIES, type AlarmRule, type AlarmSeverity } from '../../alarms/alarm-rule.js';
import type { AlarmInstance, AlarmTransition } from '../../alarms/alarm-state.js';
import type { AlarmCursor, AlarmFilter, AlarmPage, AlarmStore, PendingRun } from '../../alarms/alarm-store.js';
import { AlreadyExistsError, ConflictError } from '../../domain/errors.js';

const clone = <T>(value: T): T => structuredClone(value);

function page<T>(all: readonly T[], limit: number, cursor?: AlarmCursor): AlarmPage<T> {
  const start = cursor ? Number(cursor.offset) : 0;
  const items = all.slice(start, start + limit);
  return { items: items.map(clone), ...(start + limit < all.length && { cursor: { offset: start + limit } }) };
}

/** In-memory {@link AlarmStore}. */
export class InMemoryAlarmStore implements AlarmStore {
  private readonly rules = new Map<string, AlarmRule>();
  private readonly versions = new Map<string, AlarmRule>();
  private readonly instances = new Map<string, AlarmInstance>();
  private readonly transitions = new Map<string, Map<number, AlarmTransition>>();
  private readonly pending = new Map<string, PendingRun & { deviceId: string }>();

  async createRule(rule: AlarmRule): Promise<void> {
    if (this.rules.has(rule.id)) throw new AlreadyExistsError(`Alarm rule ${rule.id} already exists`);
    this.rules.set(rule.id, clone(rule));
    this.versions.set(`${rule.id}#${rule.version}`, clone(rule));
  }

  async updateRule(rule: AlarmRule, expectedVersion: number): Promise<void> {
    if (this.rules.get(rule.id)?.version !== expectedVersion) throw new ConflictError(`Alarm rule ${rule.id} changed since version ${expectedVersion}, or was deleted`);
    this.rules.set(rule.id, clone(rule));
    this.versions.set(`${rule.id}#${rule.version}`, clone(rule));
  }

  async getRule(id: string): Promise<AlarmRule | undefined> {
    const rule = this.rules.get(id);
    return rule && clone(rule);
  }

  async listRules(): Promise<AlarmRule[]> {
    return [...this.rules.values()].sort((a, b) => a.id.localeCompare(b.id)).map(clone);
  }

  async getRuleVersion(id: string, version: number): Promise<AlarmRule | undefined> {
    const rule = this.versions.get(`${id}#${version}`);
    return rule && clone(rule);
  }

  async deleteRule(id: string): Promise<AlarmRule | undefined> {
    const rule = this.rules.get(id);
    if (!rule) return undefined;
    this.rules.delete(id);
    for (const [key, instance] of this.instances) if (instance.ruleId === id) this.instances.delete(key);
    return rule;
  }

  async getInstance(ruleId: string, deviceId: string): Promise<AlarmInstance | undefined> {
    const instance = this.instances.get(`${ruleId}.${deviceId}`);
    return instance && clone(instance);
  }

  async deviceInstances(deviceId: string): Promise<AlarmInstance[]> {
    return [...this.instances.values()].filter((i) => i.deviceId === deviceId).sort((a, b) => a.ruleId.localeCompare(b.ruleId)).map(clone);
  }

  async deviceAlarmState(deviceId: string): Promise<{ instances: AlarmInstance[]; pending: PendingRun[] }> {
    const pending = [...this.pending.values()].filter((p) => p.deviceId === deviceId).map(({ deviceId: _d, ...run }) => run);
    return { instances: await this.deviceInstances(deviceId), pending };
  }

  async putPending(deviceId: string, run: PendingRun): Promise<void> {
    this.pending.set(`${run.ruleId}.${deviceId}`, { ...run, deviceId });
  }

  async deletePending(deviceId: string, ruleId: string): Promise<void> {
    this.pending.delete(`${ruleId}.${deviceId}`);
  }

  async ruleInstances(ruleId: string, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmInstance>> {
    const all = [...this.instances.values()].filter((i) => i.ruleId === ruleId).sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    return page(all, limit, cursor);
  }

  async writeTransition(next: AlarmInstance): Promise<boolean> {
    const current = this.instances.get(next.id);
    if ((current?.rev ?? 0) !== next.rev - 1) return false;
    this.instances.set(next.id, clone(next));
    return true;
  }

  async listAlarms(filter: AlarmFilter, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmInstance>> {
    const matches = [...this.instances.values()].filter(
      (i) =>
        (!filter.state || i.state === filter.state) &&
        (!filter.severity || i.severity === filter.severity) &&
        (!filter.deviceId || i.deviceId === filter.deviceId) &&
        (!filter.ruleId || i.ruleId === filter.ruleId),
    );
    // The DynamoDB adapter's orders: by rule within a device, by device within a rule, else newest change first.
    const sorted = filter.deviceId
      ? matches.sort((a, b) => a.ruleId.localeCompare(b.ruleId))
      : filter.ruleId
        ? matches.sort((a, b) => a.deviceId.localeCompare(b.deviceId))
        : matches.sort((a, b) => `${b.changedAt}#${b.id}`.localeCompare(`${a.changedAt}#${a.id}`));
    return page(sorted, limit, cursor);
  }

  async endedSnoozes(now: number, limit: number): Promise<Array<{ ruleId: string; deviceId: string }>> {
    return [...this.instances.values()]
      .filter((i) => i.state === 'SNOOZE_DISABLED' && i.snoozeUntil !== undefined && i.snoozeUntil <= now)
      .sort((a, b) => a.snoozeUntil! - b.snoozeUntil!)
      .slice(0, limit)
      .map((i) => ({ ruleId: i.ruleId, deviceId: i.deviceId }));
  }

  async activeBySeverity(): Promise<Record<AlarmSeverity, number>> {
    const counts = Object.fromEntries(ALARM_SEVERITIES.map((s) => [s, 0])) as Record<AlarmSeverity, number>;
    for (const i of this.instances.values()) if (i.state === 'ACTIVE') counts[i.severity] += 1;
    return counts;
  }

  async appendHistory(transition: AlarmTransition): Promise<void> {
    const list = this.transitions.get(transition.alarmId) ?? new Map<number, AlarmTransition>();
    list.set(transition.rev, clone(transition));
    this.transitions.set(transition.alarmId, list);
  }

  async history(alarmId: string, limit: number, cursor?: AlarmCursor): Promise<AlarmPage<AlarmTransition>> {
    const all = [...(this.transitions.get(alarmId)?.values() ?? [])].sort((a, b) => b.rev - a.rev);
    return page(all, limit, cursor);
  }
}
