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
      if (result === 'invalid' || result === 'unknown') logger.warn('Lifecycle event not applied', { result, event });
      else logger.info('Lifecycle event', { result });
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
