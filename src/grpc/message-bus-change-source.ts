/**
 * A ChangeSource over a MessageBus: one subscription to CHANGE_TOPIC_FILTER (the change feed
 * publishes each registry change there in the device-change wire form), relayed to every WatchDevices stream.
 * Locally the bus is the embedded broker; on Fargate it is MQTT over WSS to IoT Core.
 */
import { decodeDeviceChange } from '../contracts/device-change-codec.js';
import { CHANGE_TOPIC_FILTER } from '../contracts/topics.js';
import type { ChangeSource } from '../ports/change-feed.js';
import type { BusConnection, MessageBus } from '../ports/message-bus.js';
import type { LogSink } from './call-log.js';
import { ChangeFanout } from './change-fanout.js';

/**
 * A ChangeSource that holds a bus subscription until closed. `connected` is false while the bus
 * is down or not yet resubscribed: changes published then are lost, so WatchDevices streams end.
 */
export interface BusChangeSource extends ChangeSource, BusConnection {
  close(): Promise<void>;
}

/** Subscribes to the change topics on `bus`; payloads that are not a DeviceChange are logged and dropped. */
export async function subscribeToChanges(bus: MessageBus, log: LogSink): Promise<BusChangeSource> {
  const fanout = new ChangeFanout((error) => log({ level: 'error', msg: 'watch listener failed', error: String(error) }));
  const unsubscribe = await bus.subscribe(CHANGE_TOPIC_FILTER, (topic, payload) => {
    const decoded = decodeDeviceChange(topic, payload);
    if (decoded.ok) fanout.emit(decoded.change);
    else log({ level: 'warn', msg: 'dropped a message that is not a device change', topic, bytes: payload.length, reason: decoded.reason });
  });
  return {
    subscribe: (listener) => fanout.subscribe(listener),
    // A bus without a connection state (the in-process broker) cannot lose messages.
    get connected() {
      return bus.connected ?? true;
    },
    onConnectionChange: (listener) => bus.onConnectionChange?.(listener) ?? (() => {}),
    close: unsubscribe,
  };
}
