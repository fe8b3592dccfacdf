/**
 * The alarm use cases every door calls (GraphQL resolvers, the gRPC service, the CLI): rule
 * CRUD with versions, alarm listings with signed page tokens, one alarm with its history, and
 * the operator's actions. Validates before any I/O; throws the domain's typed errors only.
 */
import { randomUUID } from 'node:crypto';
import type { Device } from '../domain/device.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { PageTokenCodec } from '../domain/page-token.js';
import { validateDeviceId, validateLimit } from '../domain/validation.js';
import { ALARM_SEVERITIES, ruleTargets, validateRuleInput, type AlarmRule, type AlarmRuleInput, type AlarmSeverity } from './alarm-rule.js';
import { ALARM_STATES, applyAction, normalInstance, parseAlarmId, validateAction, type AlarmAction, type AlarmInstance, type AlarmState, type AlarmTransition } from './alarm-state.js';
import type { AlarmCursor, AlarmFilter, AlarmStore } from './alarm-store.js';

const RULE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_ACTION_RETRIES = 3;

/** An alarm listing page. */
export interface AlarmListPage {
  readonly items: readonly AlarmInstance[];
  readonly nextPageToken?: string;
}

/** An alarm's history page, newest first. */
export interface AlarmHistoryPage {
  readonly items: readonly AlarmTransition[];
  readonly nextPageToken?: string;
}

/** Input of {@link AlarmService.listAlarms}; every filter is optional. */
export interface ListAlarmsInput {
  readonly state?: unknown;
  readonly severity?: unknown;
  readonly deviceId?: unknown;
  readonly ruleId?: unknown;
  readonly limit?: number;
  readonly pageToken?: string;
}

/** Ports of {@link AlarmService}. */
export interface AlarmServiceDeps {
  readonly store: AlarmStore;
  readonly pageTokens: PageTokenCodec;
  /** Reads a device (actions check the device exists and the rule watches it). */
  readonly devices: { get(id: string): Promise<Device | undefined> };
  /** Told when a rule changed, so a cache in the same process can drop it. */
  readonly onRulesChanged?: () => void;
  /** Told when an operator's action changed an alarm of a device, for the same reason. */
  readonly onAlarmChanged?: (deviceId: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
}

/** Validates a rule id (a UUID). */
export function validateRuleId(value: unknown, field = 'id'): string {
  if (typeof value !== 'string' || !RULE_ID.test(value.toLowerCase())) throw new ValidationError(`${field} must be a rule id (a UUID)`, field);
  return value.toLowerCase();
}

function optionalOneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw new ValidationError(`${field} must be one of ${allowed.join(', ')}`, field);
  return value as T;
}

/** The alarm use cases. */
export class AlarmService {
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly deps: AlarmServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? randomUUID;
  }

  /** Creates a rule at version 1. */
  async createRule(input: AlarmRuleInput): Promise<AlarmRule> {
    const spec = validateRuleInput(input);
    const at = new Date(this.now()).toISOString();
    const rule: AlarmRule = { id: this.newId(), ...spec, version: 1, createdAt: at, updatedAt: at };
    await this.deps.store.createRule(rule);
    this.deps.onRulesChanged?.();
    return rule;
  }

  /** Replaces a rule's settings as a new version; with expectedVersion, only if nobody changed it since. */
  async updateRule(id: unknown, input: AlarmRuleInput, expectedVersion?: number): Promise<AlarmRule> {
    const ruleId = validateRuleId(id);
    const spec = validateRuleInput(input);
    if (expectedVersion !== undefined && (!Number.isInteger(expectedVersion) || expectedVersion < 1)) throw new ValidationError('expectedVersion must be a whole number >= 1', 'expectedVersion');
    const current = await this.getRule(ruleId);
    const version = expectedVersion ?? current.version;
    // Optional settings left out of the update go: the new version is the input, not a merge.
    const { command: _previous, ...kept } = current;
    const rule: AlarmRule = { ...kept, ...spec, version: version + 1, updatedAt: new Date(this.now()).toISOString() };
    await this.deps.store.updateRule(rule, version);
    this.deps.onRulesChanged?.();
    return rule;
  }

  /** One rule; NotFoundError when absent. */
  async getRule(id: unknown): Promise<AlarmRule> {
    const ruleId = validateRuleId(id);
    const rule = await this.deps.store.getRule(ruleId);
    if (!rule) throw new NotFoundError(`Alarm rule ${ruleId} not found`);
    return rule;
  }

  /** A rule as it was at one version. */
  async getRuleVersion(id: unknown, version: number): Promise<AlarmRule> {
    const ruleId = validateRuleId(id);
    if (!Number.isInteger(version) || version < 1) throw new ValidationError('version must be a whole number >= 1', 'version');
    const rule = await this.deps.store.getRuleVersion(ruleId, version);
    if (!rule) throw new NotFoundError(`Alarm rule ${ruleId} has no version ${version}`);
    return rule;
  }

  /** Every rule. */
  async listRules(): Promise<AlarmRule[]> {
    return this.deps.store.listRules();
  }

  /** Deletes a rule and its alarms (their history stays); returns the rule. */
  async deleteRule(id: unknown): Promise<AlarmRule> {
    const ruleId = validateRuleId(id);
    const rule = await this.deps.store.deleteRule(ruleId);
    if (!rule) throw new NotFoundError(`Alarm rule ${ruleId} not found`);
    this.deps.onRulesChanged?.();
    return rule;
  }

  /** A page of alarms matching every filter given. */
  async listAlarms(input: ListAlarmsInput): Promise<AlarmListPage> {
    const filter: AlarmFilter = {
      ...(optionalOneOf(input.state, ALARM_STATES, 'state') && { state: input.state as AlarmState }),
      ...(optionalOneOf(input.severity, ALARM_SEVERITIES, 'severity') && { severity: input.severity as AlarmSeverity }),
      ...(input.deviceId !== undefined && input.deviceId !== null && input.deviceId !== '' && { deviceId: validateDeviceId(input.deviceId, 'deviceId') }),
      ...(input.ruleId !== undefined && input.ruleId !== null && input.ruleId !== '' && { ruleId: validateRuleId(input.ruleId, 'ruleId') }),
    };
    const limit = validateLimit(input.limit);
    const scope = { kind: 'alarms', ...filter };
    const cursor = input.pageToken ? (this.deps.pageTokens.decode(input.pageToken, scope) as AlarmCursor) : undefined;
    const page = await this.deps.store.listAlarms(filter, limit, cursor);
    return { items: page.items, ...(page.cursor && { nextPageToken: this.deps.pageTokens.encode(page.cursor, scope) }) };
  }

  /** The alarms of one device. */
  async deviceAlarms(deviceId: unknown): Promise<AlarmInstance[]> {
    return this.deps.store.deviceInstances(validateDeviceId(deviceId, 'deviceId'));
  }

  /** One alarm; NotFoundError when the pair never left NORMAL or does not exist. */
  async getAlarm(id: unknown): Promise<AlarmInstance> {
    const { ruleId, deviceId } = parseAlarmId(id);
    const instance = await this.deps.store.getInstance(ruleId, deviceId);
    if (!instance) throw new NotFoundError(`Alarm ${String(id)} not found (it has never left NORMAL)`);
    return instance;
  }

  /** An alarm's transitions, newest first. */
  async history(id: unknown, limit?: number, pageToken?: string): Promise<AlarmHistoryPage> {
    const { ruleId, deviceId } = parseAlarmId(id);
    const alarm = `${ruleId}.${deviceId}`;
    const scope = { kind: 'alarm-history', alarm };
    const cursor = pageToken ? (this.deps.pageTokens.decode(pageToken, scope) as AlarmCursor) : undefined;
    const page = await this.deps.store.history(alarm, validateLimit(limit), cursor);
    return { items: page.items, ...(page.cursor && { nextPageToken: this.deps.pageTokens.encode(page.cursor, scope) }) };
  }

  /** Counts of ACTIVE alarms per severity (every severity present, zeros included). */
  async activeBySeverity(): Promise<Record<AlarmSeverity, number>> {
    return this.deps.store.activeBySeverity();
  }

  /** Applies an operator's action; ConflictError when the state model has no such move now. */
  async act(id: unknown, action: AlarmAction, actor: string): Promise<AlarmInstance> {
    const { ruleId, deviceId } = parseAlarmId(id);
    validateAction(action);
    const rule = await this.deps.store.getRule(ruleId);
    if (!rule) throw new NotFoundError(`Alarm rule ${ruleId} not found`);
    for (let attempt = 0; ; attempt += 1) {
      let instance = await this.deps.store.getInstance(ruleId, deviceId, true);
      if (!instance) {
        // A pair that never left NORMAL: only a device the rule watches has one.
        const device = await this.deps.devices.get(deviceId);
        if (!device || !ruleTargets(rule, device)) throw new NotFoundError(`Alarm ${ruleId}.${deviceId} not found: rule "${rule.name}" does not watch that device`);
        instance = normalInstance(rule, deviceId, new Date(this.now()).toISOString());
      }
      const next = applyAction(instance, rule, action, actor, this.now());
      if (await this.deps.store.writeTransition(next)) {
        this.deps.onAlarmChanged?.(deviceId);
        return next;
      }
      if (attempt >= MAX_ACTION_RETRIES) throw new ConflictError(`Alarm ${ruleId}.${deviceId} keeps changing; try again`);
    }
  }
}
