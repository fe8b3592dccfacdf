/**
 * The command action of alarm rules: when a transition enters one of the states a rule's
 * `command` names, the command goes to the alarm's device through the command use case, like
 * an operator's. Run by the Alarms stream consumer, which sees every transition at least once;
 * the client token is derived from the transition (`<alarmId>#<rev>`), so a redelivered stream
 * batch finds the command it already created and never sends it twice.
 */
import { createHash } from 'node:crypto';
import type { Command } from '../commands/command.js';
import type { SendCommandInput } from '../commands/command-service.js';
import { NotFoundError } from '../domain/errors.js';
import type { AlarmRule } from './alarm-rule.js';
import type { AlarmTransition } from './alarm-state.js';
import type { AlarmStore } from './alarm-store.js';

/** Rule versions kept per process; versions never change, so they are never read twice. */
const MAX_CACHED_VERSIONS = 1_000;

/** What a transition's command action did. */
export type CommandActionOutcome =
  | { readonly kind: 'none' }
  | { readonly kind: 'sent'; readonly command: Command }
  | { readonly kind: 'device-gone'; readonly deviceId: string };

/** The `createdBy` of commands an alarm rule sends. */
export const alarmCommandSender = (ruleId: string): string => `alarm-rule:${ruleId}`;

/** The client token of the command a transition sends: the same for every delivery of that transition. */
export function alarmCommandToken(transition: Pick<AlarmTransition, 'alarmId' | 'rev'>): string {
  return `alarm-${createHash('sha256').update(`${transition.alarmId}#${transition.rev}`).digest('hex').slice(0, 40)}`;
}

/** Ports of {@link AlarmCommandActions}. */
export interface AlarmCommandActionsDeps {
  readonly rules: Pick<AlarmStore, 'getRuleVersion'>;
  readonly commands: { send(input: SendCommandInput, createdBy: string): Promise<Command> };
}

/** Sends rules' commands on the transitions they name. */
export class AlarmCommandActions {
  private readonly versions = new Map<string, Promise<AlarmRule | undefined>>();

  constructor(private readonly deps: AlarmCommandActionsDeps) {}

  /** Sends the command of the rule version that made `transition`, when it names the state entered. Outages throw (the stream retries). */
  async run(transition: AlarmTransition): Promise<CommandActionOutcome> {
    const rule = await this.ruleVersion(transition.ruleId, transition.ruleVersion);
    const action = rule?.command;
    if (!action || !action.onStates.includes(transition.to)) return { kind: 'none' };
    try {
      const command = await this.deps.commands.send(
        { deviceId: transition.deviceId, name: action.name, payload: action.payload, timeoutSeconds: action.timeoutSeconds, clientToken: alarmCommandToken(transition) },
        alarmCommandSender(transition.ruleId),
      );
      return { kind: 'sent', command };
    } catch (error) {
      // A device deleted since its alarm moved has nobody to send to; retrying cannot change that.
      if (error instanceof NotFoundError) return { kind: 'device-gone', deviceId: transition.deviceId };
      throw error;
    }
  }

  private ruleVersion(ruleId: string, version: number): Promise<AlarmRule | undefined> {
    const key = `${ruleId}#${version}`;
    const hit = this.versions.get(key);
    if (hit) return hit;
    if (this.versions.size >= MAX_CACHED_VERSIONS) this.versions.delete(this.versions.keys().next().value!);
    const read = this.deps.rules.getRuleVersion(ruleId, version);
    this.versions.set(key, read);
    read.catch(() => this.versions.delete(key));
    return read;
  }
}
