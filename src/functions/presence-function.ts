/**
 * The presence function as one composition, built by its Lambda module (lambdas/presence) and by
 * the local IoT Core's rules runner, so both apply lifecycle events the same way.
 */
import { createPresenceHandler, type PresenceResult } from '../devices/presence-handler.js';
import type { DeadLetterQueue } from '../ports/dead-letter.js';
import type { DeviceStateWriter } from '../ports/device-state-writer.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsRecorder } from '../ports/metrics.js';

/** What the presence function is built from. */
export interface PresenceFunctionPorts {
  readonly devices: DeviceStateWriter;
  readonly deadLetters: DeadLetterQueue;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
}

/** The handler of one lifecycle event (`SELECT *` of the presence rule); an outage throws, so the caller retries. */
export function composePresenceFunction(ports: PresenceFunctionPorts): (event: unknown) => Promise<PresenceResult> {
  const { logger, metrics } = ports;
  const presence = createPresenceHandler({
    devices: ports.devices,
    deadLetters: ports.deadLetters,
    observer: (result, event) => {
      metrics.count(`Presence_${result}`, 1);
      // The client id and the disconnect reason at most: the event also carries the device's
      // IP address and session details, which have no place in the function's logs.
      const fields = { result, ...lifecycleSummary(event) };
      if (result === 'invalid' || result === 'unknown') logger.warn('Lifecycle event not applied', fields);
      else logger.info('Lifecycle event', fields);
    },
  });
  return async (event) => {
    try {
      return await presence(event);
    } finally {
      metrics.flush();
    }
  };
}

/** What may be logged of a lifecycle event: its client id and disconnect reason, cut short, when they are strings. */
export function lifecycleSummary(event: unknown): { clientId?: string; disconnectReason?: string } {
  if (typeof event !== 'object' || event === null) return {};
  const { clientId, disconnectReason } = event as Record<string, unknown>;
  return {
    ...(typeof clientId === 'string' && { clientId: clientId.slice(0, 128) }),
    ...(typeof disconnectReason === 'string' && { disconnectReason: disconnectReason.slice(0, 64) }),
  };
}
