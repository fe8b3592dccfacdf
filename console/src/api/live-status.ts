import { createContext } from 'react';

/**
 * Which subscriptions the server has confirmed, by urql operation key. A view subscribes first
 * and reads only once its subscription listens, so no change can fall between the read and the
 * subscription; a confirmation after a reconnect asks for a re-read, as changes may have been
 * missed while the socket was down.
 */
export interface LiveStatus {
  /** Whether the subscription with this key is confirmed and not yet torn down. */
  active(key: number): boolean;
  /** The transport saw the server confirm `key` (again, after a reconnect). */
  started(key: number): void;
  /** The subscription with this key was torn down. */
  stopped(key: number): void;
  /** Calls `listener` on every confirmation of `key`; returns the unsubscribe. */
  onStarted(key: number, listener: () => void): () => void;
}

/** An empty {@link LiveStatus}. */
export function createLiveStatus(): LiveStatus {
  const active = new Set<number>();
  const listeners = new Map<number, Set<() => void>>();
  return {
    active: (key) => active.has(key),
    started(key) {
      active.add(key);
      for (const listener of [...(listeners.get(key) ?? [])]) listener();
    },
    stopped: (key) => void active.delete(key),
    onStarted(key, listener) {
      const set = listeners.get(key) ?? new Set();
      listeners.set(key, set.add(listener));
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(key);
      };
    },
  };
}

/** The signed-in client's {@link LiveStatus}; without a provider, subscriptions count as confirmed. */
export const LiveStatusContext = createContext<LiveStatus | undefined>(undefined);
