import { useEffect, useRef, useState } from 'react';
import { useSubscription } from 'urql';
import { DEVICE_UPDATED, TELEMETRY_UPDATED, type Device, type DeviceUpdatedResult, type TelemetryUpdatedResult } from '../api/documents';

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
}

/**
 * Every device change, applied at most once per animation frame: a fleet of 10,000 devices
 * reporting every 10 s is 1,000 changes a second, far more than a list should re-render.
 */
export function useLiveDevices(): LiveDevices {
  const pending = useRef(new Map<string, { device: Device; deleted: boolean; created: boolean }>());
  const frame = useRef<number | undefined>(undefined);
  const pendingSeen = useRef(new Map<string, string>());
  const [state, setState] = useState<Omit<LiveDevices, 'failed'>>({ changed: new Map(), created: new Set(), lastSeen: new Map() });

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
  const [{ error: telemetryError }] = useSubscription<TelemetryUpdatedResult, null>({ query: TELEMETRY_UPDATED }, (_prev, result) => {
    for (const item of result.telemetryUpdated?.items ?? []) {
      if (item.lastSeen && !(pendingSeen.current.get(item.id)! > item.lastSeen)) pendingSeen.current.set(item.id, item.lastSeen);
    }
    flush();
    return null;
  });

  const [{ error }] = useSubscription<DeviceUpdatedResult, null>({ query: DEVICE_UPDATED, variables: {} }, (_prev, result) => {
    const change = result.deviceUpdated;
    if (change) {
      pending.current.set(change.device.id, {
        device: change.device,
        deleted: change.changeType === 'DELETED',
        created: change.changeType === 'CREATED' || (pending.current.get(change.device.id)?.created ?? false),
      });
      flush();
    }
    return null;
  });
  useEffect(
    () => () => {
      if (frame.current !== undefined) cancelAnimationFrame(frame.current);
    },
    [],
  );
  return { ...state, failed: Boolean(error ?? telemetryError) };
}
