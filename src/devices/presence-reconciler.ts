/**
 * The presence reconciler: lifecycle events get lost (a crash, a dropped invocation), so the
 * registry's ONLINE devices are compared with the broker's truth now and then, and a device
 * the broker says is not connected is set OFFLINE through the same conditional presence write
 * as an event, stamped with the time the truth was observed: a lifecycle event newer than that
 * observation still wins, an older one cannot undo the correction.
 *
 * Only a status a lifecycle event set is corrected: an operator who sets a device ONLINE through
 * the API is not overruled.
 *
 * Debounce: a device whose status changed less than `debounceMs` ago is left alone (its own
 * events are probably in flight), and each device is corrected at most once per run, so a
 * flapping connection costs at most one correction per reconcile interval.
 */
import type { Device } from '../domain/device.js';
import type { DeviceRepository } from '../ports/device-repository.js';
import { mapSettled } from '../concurrency/bounded-concurrency.js';
import type { DeviceStateWriter } from '../ports/device-state-writer.js';

/** What the broker knows of one client. */
export interface Connectivity {
  readonly connected: boolean;
  /** Epoch ms the answer is true as of (observation time, or the last connectivity change). */
  readonly at: number;
  /** Why the last session ended, when the broker says. */
  readonly disconnectReason?: string;
}

/** The broker's truth: locally its session table, in AWS GetThingConnectivityData. */
export interface ConnectivitySource {
  connectivity(deviceIds: readonly string[]): Promise<ReadonlyMap<string, Connectivity>>;
}

/** What one run did. */
export interface ReconcileSummary {
  /** ONLINE devices compared with the broker. */
  readonly checked: number;
  /** Devices set OFFLINE. */
  readonly corrected: number;
  /** ONLINE devices left alone because their status changed within the debounce. */
  readonly debounced: number;
}

/** Ports and options of {@link createPresenceReconciler}. */
export interface PresenceReconcilerDeps {
  readonly repository: Pick<DeviceRepository, 'list'>;
  readonly devices: Pick<DeviceStateWriter, 'recordPresence'>;
  readonly truth: ConnectivitySource;
  /** @default 30_000 */
  readonly debounceMs?: number;
  /** Devices read per index page and asked about per call. @default 100 */
  readonly pageSize?: number;
  /** Concurrent presence writes. @default 8 */
  readonly concurrency?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told about each correction (logging). */
  readonly onCorrection?: (deviceId: string, reason: string) => void;
}

/** The reason a correction records when the broker gives none. */
export const RECONCILED_DISCONNECT_REASON = 'CONNECTION_LOST';

/** Builds one reconcile run: ONLINE devices through the status index (no Scan), checked page by page. */
export function createPresenceReconciler(deps: PresenceReconcilerDeps): (options?: { debounceMs?: number }) => Promise<ReconcileSummary> {
  const now = deps.now ?? Date.now;
  const pageSize = deps.pageSize ?? 100;
  return async (options = {}) => {
    const debounceMs = options.debounceMs ?? deps.debounceMs ?? 30_000;
    let checked = 0;
    let corrected = 0;
    let debounced = 0;
    let after: Awaited<ReturnType<DeviceRepository['list']>>['next'];
    do {
      const page = await deps.repository.list({ status: 'ONLINE', limit: pageSize, ...(after && { after }) });
      after = page.next;
      const settledBefore = now() - debounceMs;
      const candidates = page.items.filter((device: Device) => Date.parse(device.updatedAt) <= settledBefore);
      debounced += page.items.length - candidates.length;
      checked += candidates.length;
      if (candidates.length === 0) continue;
      const truth = await deps.truth.connectivity(candidates.map((d) => d.id));
      const lost = candidates.filter((d) => truth.get(d.id)?.connected === false);
      const outcomes = await mapSettled(lost, deps.concurrency ?? 8, async (device) => {
        const state = truth.get(device.id)!;
        const reason = state.disconnectReason ?? RECONCILED_DISCONNECT_REASON;
        // Version 0: an event with the same timestamp (and any version) is newer than the observation.
        const outcome = await deps.devices.recordPresence({ deviceId: device.id, status: 'OFFLINE', at: state.at, version: 0, disconnectReason: reason, onlyAfterEvent: true });
        if (outcome === 'applied') deps.onCorrection?.(device.id, reason);
        return outcome;
      });
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') throw outcome.reason;
        if (outcome.value === 'applied') corrected += 1;
      }
    } while (after);
    return { checked, corrected, debounced };
  };
}
