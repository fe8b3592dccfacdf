/**
 * Keeps grpc.health.v1 in step with the dependencies: a periodic cheap probe (a DynamoDB
 * GetItem in the cloud) sets SERVING or NOT_SERVING for the whole server and the DeviceService.
 * The DeviceService is also NOT_SERVING while its change subscription is down (WatchDevices
 * cannot promise every change then); the server-wide status ('', the container HEALTHCHECK)
 * follows the probe only, since unary calls still work and the bus reconnects by itself.
 */
import type { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../ports/logger.js';

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
  readonly log: Logger;
}

/** A running monitor. */
export interface HealthMonitor {
  /** Latest result. */
  readonly serving: boolean;
  /** Runs the probe now and applies the result. */
  check(): Promise<boolean>;
  /** Records whether the change subscription is up (the DeviceService needs it too). */
  setChangesConnected(connected: boolean): void;
  /** Stops probing and reports NOT_SERVING (shutdown). */
  stop(): void;
}

/** Probes once (so the first answer is already true), then every `intervalMs`. */
export async function startHealthMonitor(options: HealthMonitorOptions): Promise<HealthMonitor> {
  const { health, services, probe, log } = options;
  const timeoutMs = options.timeoutMs ?? 3_000;
  let probeOk: boolean | undefined;
  let changesOk = true;
  let stopped = false;
  const publish = (): void => {
    health.setStatus('', probeOk ? 'SERVING' : 'NOT_SERVING');
    for (const service of services) health.setStatus(service, probeOk && changesOk ? 'SERVING' : 'NOT_SERVING');
  };
  const apply = (ok: boolean, error?: unknown): void => {
    if (stopped) return;
    const changed = ok !== probeOk;
    probeOk = ok;
    publish();
    if (changed) {
      log[ok ? 'info' : 'warn']('health', { status: ok ? 'SERVING' : 'NOT_SERVING', ...(error !== undefined && { error: String(error instanceof Error ? error.message : error) }) });
    }
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
      return probeOk === true;
    },
    check,
    setChangesConnected(connected) {
      if (stopped || connected === changesOk) return;
      changesOk = connected;
      publish();
      log[connected ? 'info' : 'warn']('health', { service: services.join(','), status: connected && probeOk ? 'SERVING' : 'NOT_SERVING', changeSubscription: connected ? 'up' : 'down' });
    },
    stop() {
      clearInterval(interval);
      for (const service of ['', ...services]) health.setStatus(service, 'NOT_SERVING');
      stopped = true;
    },
  };
}
