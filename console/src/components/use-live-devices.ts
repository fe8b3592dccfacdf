import { useEffect, useRef, useState } from 'react';
import { DEVICE_UPDATED, TELEMETRY_UPDATED, type Device, type DeviceUpdatedResult, type TelemetryUpdatedResult } from '../api/documents';
import { useLiveSubscription, type LiveSubscription } from './use-live-subscription';

/** What the live feed says about devices since the page loaded. */
export interface LiveDevices {
  /** The newest state of each changed device (deleted ones too, with `deleted`). */
  readonly changed: ReadonlyMap<string, { device: Device; deleted: boolean }>;
  /** Ids created since the page loaded. */
  readonly created: ReadonlySet<string>;
  /** The newest lastSeen of each device that sent telemetry since the page loaded. */
  readonly lastSeen: ReadonlyMap<string, string>;
  /** Whether the subscription failed. */
  readonly failed: boolean;
  /** Both subscriptions, for the list's read to wait for (see useLiveSubscription). */
  readonly subscriptions: readonly LiveSubscription[];
  /** Whether both subscriptions listen (or failed), so the list may be read. */
  readonly ready: boolean;
}

/**
 * Every device change, applied at most once per animation frame: a fleet of 10,000 devices
 * reporting every 10 s is 1,000 changes a second, far more than a list should re-render.
 */
export function useLiveDevices(): LiveDevices {
  const pending = useRef(new Map<string, { device: Device; deleted: boolean; created: boolean }>());
  const frame = useRef<number | undefined>(undefined);
  const pendingSeen = useRef(new Map<string, string>());
  // The last sequence applied per device and feed: delivery is at least once, and a redelivered
  // or overtaken change must not undo a newer one.
  const appliedChange = useRef(new Map<string, string>());
  const appliedTelemetry = useRef(new Map<string, string>());
  const [state, setState] = useState<Omit<LiveDevices, 'failed' | 'subscriptions' | 'ready'>>({ changed: new Map(), created: new Set(), lastSeen: new Map() });

  // Registry and presence changes come on deviceUpdated; telemetry (lastSeen) in batches on
  // telemetryUpdated. Both are applied together, once per frame.
  const flush = () => {
    frame.current ??= requestAnimationFrame(() => {
      frame.current = undefined;
      const batch = pending.current;
      const seen = pendingSeen.current;
      pending.current = new Map();
      pendingSeen.current = new Map();
      setState((previous) => {
        const changed = new Map(previous.changed);
        const created = new Set(previous.created);
        const lastSeen = new Map(previous.lastSeen);
        for (const [id, entry] of batch) {
          changed.set(id, { device: entry.device, deleted: entry.deleted });
          if (entry.created) created.add(id);
        }
        for (const [id, at] of seen) if (!(lastSeen.get(id)! > at)) lastSeen.set(id, at);
        return { changed, created, lastSeen };
      });
    });
  };
  const telemetry = useLiveSubscription<TelemetryUpdatedResult>({ query: TELEMETRY_UPDATED }, (result) => {
    for (const item of result.telemetryUpdated?.items ?? []) {
      if (!(item.sequence > (appliedTelemetry.current.get(item.id) ?? ''))) continue;
      appliedTelemetry.current.set(item.id, item.sequence);
      if (item.lastSeen && !(pendingSeen.current.get(item.id)! > item.lastSeen)) pendingSeen.current.set(item.id, item.lastSeen);
    }
    flush();
  });

  const changes = useLiveSubscription<DeviceUpdatedResult>({ query: DEVICE_UPDATED, variables: {} }, (result) => {
    const change = result.deviceUpdated;
    if (change && change.sequence > (appliedChange.current.get(change.device.id) ?? '')) {
      appliedChange.current.set(change.device.id, change.sequence);
      pending.current.set(change.device.id, {
        device: change.device,
        deleted: change.changeType === 'DELETED',
        created: change.changeType === 'CREATED' || (pending.current.get(change.device.id)?.created ?? false),
      });
      flush();
    }
  });
  useEffect(
    () => () => {
      if (frame.current !== undefined) cancelAnimationFrame(frame.current);
    },
    [],
  );
  return { ...state, failed: Boolean(changes.error ?? telemetry.error), subscriptions: [changes, telemetry], ready: changes.ready && telemetry.ready };
}
