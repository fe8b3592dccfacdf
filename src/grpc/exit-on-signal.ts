/**
 * How the service process ends on SIGTERM (ECS stop) or SIGINT: run `stop` (drain calls, close
 * subscriptions), then flush the logger's asynchronous buffer, then exit, so the last lines
 * (shutdown, stopped) are never lost with the process.
 */
import type { FlushableLogger } from '../adapters/logging/pino-logger.js';

/**
 * Longest the exit waits for stdout to take the buffered lines. A reader that is slow but alive
 * (a loaded log driver) needs seconds for a large buffer; 2 s lost the tail of a 20,000-line
 * burst on a loaded machine. The stack leaves 10 s of the stop timeout after the drain.
 */
const FLUSH_TIMEOUT_MS = 8_000;

/** Installs the SIGTERM/SIGINT handlers; the first signal wins, later ones are ignored. */
export function exitOnSignal(log: FlushableLogger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info('signal', { signal });
    stop()
      .catch((error: unknown) => log.error('shutdown failed', { error: String(error) }))
      .finally(() => exitAfterFlush(log, 0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/** Exits with `code` once the logger's buffer is written (or after FLUSH_TIMEOUT_MS, should stdout be stuck). */
export function exitAfterFlush(log: FlushableLogger, code: number): void {
  setTimeout(() => process.exit(code), FLUSH_TIMEOUT_MS).unref();
  void log.flush().finally(() => process.exit(code));
}
