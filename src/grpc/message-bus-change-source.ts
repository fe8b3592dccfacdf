/**
 * A ChangeSource over a MessageBus: one subscription to CHANGE_TOPIC_FILTER (the change feed
 * publishes each registry change there in the device-change wire form, and telemetry-only
 * changes in batches on TELEMETRY_BATCH_TOPIC), relayed change by change to every WatchDevices
 * stream. Locally the bus is the embedded broker; on Fargate it is MQTT over WSS to IoT Core.
 */
import { decodeDeviceChange, decodeDeviceChangeBatch } from '../contracts/device-change-codec.js';
import { CHANGE_TOPIC_FILTER, TELEMETRY_BATCH_TOPIC } from '../contracts/topics.js';
import type { DeviceChange } from '../domain/device-change.js';
import type { ChangeSource } from '../ports/change-feed.js';
import type { BusConnection, MessageBus } from '../ports/message-bus.js';
import type { Logger } from '../ports/logger.js';
import { ChangeFanout } from './change-fanout.js';

/**
 * A ChangeSource that holds a bus subscription until closed. `connected` is false while the bus
 * is down or not yet resubscribed: changes published then are lost, so WatchDevices streams end.
 */
export interface BusChangeSource extends ChangeSource, BusConnection {
  close(): Promise<void>;
}

/** Subscribes to the change topics on `bus`; payloads that are not a DeviceChange are logged and dropped. */
export async function subscribeToChanges(bus: MessageBus, log: Logger): Promise<BusChangeSource> {
  const fanout = new ChangeFanout((error) => log.error('watch listener failed', { error: String(error) }));
  // The change feed publishes at least once (a redelivered stream record is published again) and
  // a batch may carry telemetry older than a change already relayed: streams get each sequence
  // once, per device in increasing order. One short string per device of the fleet.
  const relayed = new Map<string, string>();
  const emit = (change: DeviceChange) => {
    const last = relayed.get(change.device.id);
    if (last !== undefined && last >= change.sequence) return;
    relayed.set(change.device.id, change.sequence);
    fanout.emit(change);
  };
  const unsubscribe = await bus.subscribe(CHANGE_TOPIC_FILTER, (topic, payload) => {
    if (topic === TELEMETRY_BATCH_TOPIC) {
      const batch = decodeDeviceChangeBatch(payload);
      if (batch.ok) for (const change of batch.changes) emit(change);
      else log.warn('dropped a message that is not a change batch', { topic, bytes: payload.length, reason: batch.reason });
      return;
    }
    const decoded = decodeDeviceChange(topic, payload);
    if (decoded.ok) emit(decoded.change);
    else log.warn('dropped a message that is not a device change', { topic, bytes: payload.length, reason: decoded.reason });
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
