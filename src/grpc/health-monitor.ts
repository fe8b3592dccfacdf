/**
 * Keeps grpc.health.v1 in step with the dependencies: a periodic cheap probe (a DynamoDB
 * GetItem in the cloud) sets SERVING or NOT_SERVING for the whole server and the DeviceService.
 */
import type { HealthImplementation } from 'grpc-health-check';
import type { LogSink } from './call-log.js';

/** Resolves when the dependencies answer; rejects (or times out) when they do not. */
export type HealthProbe = () => Promise<void>;

/** Options of {@link startHealthMonitor}. */
export interface HealthMonitorOptions {
  readonly health: HealthImplementation;
  readonly services: readonly string[];
  readonly probe?: HealthProbe;
  /** @default 10_000 */
  readonly intervalMs?: number;
  /** A probe slower than this counts as a failure. @default 3_000 */
  readonly timeoutMs?: number;
  readonly log: LogSink;
}

/** A running monitor. */
export interface HealthMonitor {
  /** Latest result. */
  readonly serving: boolean;
  /** Runs the probe now and applies the result. */
  check(): Promise<boolean>;
  /** Stops probing and reports NOT_SERVING (shutdown). */
  stop(): void;
}

/** Probes once (so the first answer is already true), then every `intervalMs`. */
export async function startHealthMonitor(options: HealthMonitorOptions): Promise<HealthMonitor> {
  const { health, services, probe, log } = options;
  const timeoutMs = options.timeoutMs ?? 3_000;
  let serving: boolean | undefined;
  let stopped = false;
  const apply = (ok: boolean, error?: unknown): void => {
    if (stopped) return;
    for (const service of ['', ...services]) health.setStatus(service, ok ? 'SERVING' : 'NOT_SERVING');
    if (ok !== serving) {
      log({ level: ok ? 'info' : 'warn', msg: 'health', status: ok ? 'SERVING' : 'NOT_SERVING', ...(error !== undefined && { error: String(error instanceof Error ? error.message : error) }) });
    }
    serving = ok;
  };
  const check = async (): Promise<boolean> => {
    if (!probe) {
      apply(true);
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`probe timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      apply(true);
      return true;
    } catch (error) {
      apply(false, error);
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  await check();
  const interval = probe ? setInterval(() => void check(), options.intervalMs ?? 10_000) : undefined;
  interval?.unref();
  return {
    get serving() {
      return serving === true;
    },
    check,
    stop() {
      clearInterval(interval);
      for (const service of ['', ...services]) health.setStatus(service, 'NOT_SERVING');
      stopped = true;
    },
  };
}
