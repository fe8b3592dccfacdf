/**
 * Alarms in memory for a gRPC server that runs without the Alarms table (the benchmark, test
 * servers): the real use cases over the in-memory store, and an in-process transition source.
 */
import { InMemoryAlarmStore } from '../adapters/memory/in-memory-alarm-store.js';
import { AlarmService } from '../alarms/alarm-service.js';
import { createPageTokenCodec } from '../domain/page-token.js';
import type { Device } from '../domain/device.js';
import { AlarmTransitionFanout } from './watch-alarms.js';

/** The `alarms` option of startDeviceServer over memory; `devices` answers the actions' device checks. */
export function inMemoryAlarms(devices: { get(id: string): Promise<Device | undefined> } = { get: async () => undefined }) {
  return {
    service: new AlarmService({ store: new InMemoryAlarmStore(), pageTokens: createPageTokenCodec('in-memory-alarms-page-tokens'), devices }),
    transitions: new AlarmTransitionFanout(),
  };
}
