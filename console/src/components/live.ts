import { useEffect, useRef, useState } from 'react';

/**
 * Calls `fn` at most once per `ms` however often `poke` is called, and once more after the
 * last poke: a busy fleet sends many changes a second, the view needs a few refreshes.
 */
export function useThrottled(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const state = useRef<{ timer?: ReturnType<typeof setTimeout>; last: number; pending: boolean }>({ last: 0, pending: false });
  useEffect(() => () => clearTimeout(state.current.timer), []);
  const poke = useRef(() => {
    const s = state.current;
    const wait = s.last + ms - Date.now();
    if (wait <= 0 && !s.timer) {
      s.last = Date.now();
      latest.current();
      return;
    }
    if (s.timer) return;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      s.last = Date.now();
      latest.current();
    }, Math.max(wait, 0));
  });
  return poke.current;
}

/** The current time, re-read every `ms`, for "2 min ago" labels that age on screen. */
export function useNow(ms = 10_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", or the date for older times. */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return 'unknown';
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(then).toLocaleString();
}
