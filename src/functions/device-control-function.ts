/**
 * The device control function as one composition, built by its Lambda module
 * (lambdas/device-control) and by the local IoT Core's rules runner: command answers, reported
 * state and subscription events are handled, counted and logged alike.
 */
import { createDeviceControlHandler, type DeviceControlDeps, type DeviceControlResult } from '../devices/device-control-handler.js';
import type { Logger } from '../ports/logger.js';
import type { MetricsRecorder } from '../ports/metrics.js';

/** What the device control function is built from. */
export interface DeviceControlFunctionPorts extends Pick<DeviceControlDeps, 'commands' | 'twins' | 'deadLetters'> {
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
}

/** The handler of one rule output (answer, report or subscription event); an outage throws, so the caller retries. */
export function composeDeviceControlFunction(ports: DeviceControlFunctionPorts): (event: unknown) => Promise<DeviceControlResult> {
  const { logger, metrics } = ports;
  const handle = createDeviceControlHandler({
    commands: ports.commands,
    twins: ports.twins,
    deadLetters: ports.deadLetters,
    observer: (result) => {
      metrics.count(`DeviceControl_${result}`, 1);
      if (result === 'dead-lettered') logger.warn('Device message refused; see the dead-letter queue', { result });
    },
  });
  return async (event) => {
    try {
      return await handle(event);
    } finally {
      metrics.flush();
    }
  };
}
