import { useContext, useEffect, useMemo, useRef, useState } from 'react';
import { createRequest, useSubscription, type CombinedError } from 'urql';
import { LiveStatusContext } from '../api/live-status';

/** What a view needs to know of its subscription before it reads. */
export interface LiveSubscription {
  readonly error: CombinedError | undefined;
  /**
   * Whether the view may read now: the server confirmed the subscription (every change from here
   * on reaches the handler), or it failed (the view loads without live updates).
   */
  readonly ready: boolean;
  /** Confirmations since it became ready: each follows a reconnect, which may have missed changes. */
  readonly restarts: number;
}

/**
 * A subscription that the view's read waits for: give the read's useQuery `pause: !ready`, so a
 * change that lands between the read and the subscription cannot be lost, and re-read on
 * restarts with {@link useRereadOnRestart}. `handler` gets each change's data. Without a
 * LiveStatus provider nothing is confirmed, so the subscription counts as ready at once.
 */
export function useLiveSubscription<Data>(args: { query: string; variables?: Record<string, unknown> }, handler: (data: Data) => void): LiveSubscription {
  const live = useContext(LiveStatusContext);
  const variablesKey = JSON.stringify(args.variables ?? null);
  // The key urql gives the subscription's operation, by which the transport reports confirmations.
  const key = useMemo(() => createRequest(args.query, args.variables).key, [args.query, variablesKey]); // eslint-disable-line react-hooks/exhaustive-deps
  // Which key is ready, so that a new id is not read before its own subscription is confirmed.
  const [readyKey, setReadyKey] = useState<number | undefined>(live ? undefined : key);
  const [restarts, setRestarts] = useState(0);
  const latest = useRef(handler);
  latest.current = handler;
  const [{ error }] = useSubscription<Data, null>(args, (_previous, data) => {
    // urql calls this while rendering; the views set state and re-read in their handlers, which
    // belongs after the render (with the handler of the latest render).
    queueMicrotask(() => latest.current(data));
    return null;
  });
  useEffect(() => {
    if (!live) return setReadyKey(key);
    let ready = false;
    const confirm = () => {
      if (ready) setRestarts((n) => n + 1);
      ready = true;
      setReadyKey(key);
    };
    // Effects run after the previous page's cleanups: a key still active here is one that another
    // mounted view holds, and urql shares it rather than subscribing again.
    const stop = live.onStarted(key, confirm);
    if (live.active(key)) confirm();
    return stop;
  }, [live, key]);
  return { error, ready: readyKey === key || Boolean(error), restarts };
}

/** Calls `reread` when one of `subscriptions` is confirmed again after a reconnect. */
export function useRereadOnRestart(subscriptions: readonly LiveSubscription[], reread: () => void): void {
  const total = subscriptions.reduce((sum, s) => sum + s.restarts, 0);
  const seen = useRef(total);
  const latest = useRef(reread);
  latest.current = reread;
  useEffect(() => {
    if (total > seen.current) latest.current();
    seen.current = total;
  }, [total]);
}
