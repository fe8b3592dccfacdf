/**
 * The operator's side of `iotctl simulate --commands`: while the fleet publishes, it sends
 * commands to random connected devices and desired-state patches at fleet-wide rates through the
 * GraphQL door, then reads every command back until each is final, and accounts for all of them:
 * sent = succeeded + failed + rejected + timed out, held against what the devices decided.
 */
import { isTerminal, type CommandStatus } from '../../commands/command.js';
import type { CommandDecision } from './command-responder.js';

/** The API calls the driver makes (the GraphQL door in `iotctl simulate`). */
export interface CommandApi {
  /** Sends a command; resolves to its id. */
  send(deviceId: string, timeoutSeconds: number): Promise<string>;
  /** The status of each of these commands of one device (ids it does not know are left out). */
  statuses(deviceId: string, ids: ReadonlySet<string>): Promise<Map<string, CommandStatus>>;
  /** Patches a device's desired state. */
  desire(deviceId: string, patch: Record<string, unknown>): Promise<void>;
  /** Whether the device's delta is empty (it reported everything desired). */
  inSync(deviceId: string): Promise<boolean>;
  /** Whether the registry shows the device ONLINE. */
  online(deviceId: string): Promise<boolean>;
}

/** Waits until the registry shows every device ONLINE, or `deadline` (epoch ms); resolves to those still not. */
export async function waitOnline(api: CommandApi, deviceIds: readonly string[], deadline: number, pollMs = 250): Promise<string[]> {
  let pending = [...deviceIds];
  for (;;) {
    const states = await Promise.all(pending.map(async (id) => ((await api.online(id)) ? undefined : id)));
    pending = states.filter((id): id is string => id !== undefined);
    if (pending.length === 0 || Date.now() > deadline) return pending;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Options of {@link startCommandDriver}. */
export interface CommandDriverOptions {
  readonly api: CommandApi;
  readonly deviceIds: readonly string[];
  /** Commands per second across the fleet. */
  readonly commandRate: number;
  /** Desired-state patches per second across the fleet. */
  readonly desiredRate: number;
  /** The timeoutSeconds of each command. */
  readonly timeoutSeconds: number;
  readonly random?: () => number;
}

/** A running driver. */
export interface CommandDriver {
  /** Command ids sent, with their device. */
  readonly sent: ReadonlyMap<string, string>;
  /** Devices whose desired state was patched. */
  readonly patched: ReadonlySet<string>;
  /** Sends the API refused or could not be made (not counted as sent). */
  readonly sendErrors: number;
  readonly desiredUpdates: number;
  /** Stops sending; resolves once the calls under way are answered. */
  stop(): Promise<void>;
}

/** Starts sending at the configured rates (each kind on its own schedule). */
export function startCommandDriver(options: CommandDriverOptions): CommandDriver {
  const random = options.random ?? Math.random;
  const sent = new Map<string, string>();
  const patched = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const state = { sendErrors: 0, desiredUpdates: 0 };
  const pick = () => options.deviceIds[Math.floor(random() * options.deviceIds.length)]!;
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const every = (ratePerSecond: number, act: () => Promise<void>) =>
    ratePerSecond > 0 && options.deviceIds.length > 0 ? setInterval(() => track(act()), 1000 / ratePerSecond) : undefined;

  const timers = [
    every(options.commandRate, async () => {
      const deviceId = pick();
      try {
        sent.set(await options.api.send(deviceId, options.timeoutSeconds), deviceId);
      } catch {
        state.sendErrors += 1;
      }
    }),
    every(options.desiredRate, async () => {
      const deviceId = pick();
      try {
        await options.api.desire(deviceId, { setpoint: Math.round((18 + random() * 6) * 10) / 10, fan: random() < 0.5 ? 'auto' : 'low' });
        patched.add(deviceId);
        state.desiredUpdates += 1;
      } catch {
        state.sendErrors += 1;
      }
    }),
  ];

  return {
    sent,
    patched,
    get sendErrors() {
      return state.sendErrors;
    },
    get desiredUpdates() {
      return state.desiredUpdates;
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

/** Final statuses counted, plus those not final yet. */
export interface CommandCounts {
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly rejected: number;
  readonly timedOut: number;
  /** Neither final nor read back by the deadline (or CANCELED, which the driver never does). */
  readonly unsettled: number;
}

/** Reads the statuses of every sent command until all are final or `deadline` (epoch ms) passes. */
export async function settleCommands(api: CommandApi, sent: ReadonlyMap<string, string>, deadline: number, pollMs = 1_000): Promise<CommandCounts> {
  const byDevice = new Map<string, Set<string>>();
  for (const [id, deviceId] of sent) byDevice.set(deviceId, (byDevice.get(deviceId) ?? new Set()).add(id));
  const final = new Map<string, CommandStatus>();
  for (;;) {
    for (const [deviceId, ids] of byDevice) {
      const open = new Set([...ids].filter((id) => !final.has(id)));
      if (open.size === 0) continue;
      for (const [id, status] of await api.statuses(deviceId, open)) if (isTerminal(status)) final.set(id, status);
    }
    if (final.size === sent.size || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const count = (status: CommandStatus) => [...final.values()].filter((s) => s === status).length;
  const counts = { succeeded: count('SUCCEEDED'), failed: count('FAILED'), rejected: count('REJECTED'), timedOut: count('TIMED_OUT') };
  return { sent: sent.size, ...counts, unsettled: sent.size - counts.succeeded - counts.failed - counts.rejected - counts.timedOut };
}

/**
 * The commands accounting line. "exact" only when every sent command is final and each count
 * equals what the devices decided: succeeded, failed and rejected as they answered, timed out
 * the commands they stayed silent on or never received.
 */
export function commandAccountingLine(counts: CommandCounts, decisions: ReadonlyMap<string, CommandDecision>, sent: ReadonlyMap<string, string>): { line: string; exact: boolean } {
  const decided = { SUCCEEDED: 0, FAILED: 0, REJECTED: 0, SILENT: 0 };
  for (const id of sent.keys()) {
    const decision = decisions.get(id);
    if (decision) decided[decision] += 1;
  }
  const answered = decided.SUCCEEDED + decided.FAILED + decided.REJECTED;
  const exact =
    counts.unsettled === 0 &&
    counts.succeeded === decided.SUCCEEDED &&
    counts.failed === decided.FAILED &&
    counts.rejected === decided.REJECTED &&
    counts.timedOut === counts.sent - answered;
  const sum = `succeeded ${counts.succeeded} + failed ${counts.failed} + rejected ${counts.rejected} + timed out ${counts.timedOut}`;
  const line = exact
    ? `commands sent ${counts.sent} = ${sum} (exact)`
    : `commands sent ${counts.sent} ≠ ${sum}${counts.unsettled > 0 ? ` (${counts.unsettled} not final)` : ''}; the devices answered succeeded ${decided.SUCCEEDED}, failed ${decided.FAILED}, rejected ${decided.REJECTED}`;
  return { line, exact };
}
