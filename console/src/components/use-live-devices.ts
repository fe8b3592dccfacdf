import { useEffect, useRef, useState } from 'react';
import { useSubscription } from 'urql';
import { DEVICE_UPDATED, type Device, type DeviceUpdatedResult } from '../api/documents';

/** What the live feed says about devices since the page loaded. */
export interface LiveDevices {
  /** The newest state of each changed device (deleted ones too, with `deleted`). */
  readonly changed: ReadonlyMap<string, { device: Device; deleted: boolean }>;
  /** Ids created since the page loaded. */
  readonly created: ReadonlySet<string>;
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
  const [state, setState] = useState<Omit<LiveDevices, 'failed'>>({ changed: new Map(), created: new Set() });

  const [{ error }] = useSubscription<DeviceUpdatedResult, null>({ query: DEVICE_UPDATED, variables: {} }, (_prev, result) => {
    const change = result.deviceUpdated;
    if (change) {
      pending.current.set(change.device.id, {
        device: change.device,
        deleted: change.changeType === 'DELETED',
        created: change.changeType === 'CREATED' || (pending.current.get(change.device.id)?.created ?? false),
      });
      frame.current ??= requestAnimationFrame(() => {
        frame.current = undefined;
        const batch = pending.current;
        pending.current = new Map();
        setState((previous) => {
          const changed = new Map(previous.changed);
          const created = new Set(previous.created);
          for (const [id, entry] of batch) {
            changed.set(id, { device: entry.device, deleted: entry.deleted });
            if (entry.created) created.add(id);
          }
          return { changed, created };
        });
      });
    }
    return null;
  });
  useEffect(
    () => () => {
      if (frame.current !== undefined) cancelAnimationFrame(frame.current);
    },
    [],
  );
  return { ...state, failed: Boolean(error) };
}
