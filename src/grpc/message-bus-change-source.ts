/**
 * A ChangeSource over a MessageBus: one subscription to CHANGE_TOPIC_FILTER (the change feed
 * publishes each registry change there as JSON, and telemetry-only changes in batches on
 * TELEMETRY_BATCH_TOPIC), relayed change by change to every WatchDevices stream.
 * Locally the bus is the embedded broker; on Fargate it is MQTT over WSS to IoT Core.
 */
import { DEVICE_STATUSES } from '../domain/device.js';
import type { DeviceChange } from '../domain/device-change.js';
import { CHANGE_TOPIC_FILTER, changeTopic, TELEMETRY_BATCH_TOPIC } from '../domain/topics.js';
import { decodeChangeBatch } from '../change-feed/change-batch-codec.js';
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
      const changes = parseChangeBatch(payload);
      if (changes) for (const change of changes) emit(change);
      else log({ level: 'warn', msg: 'dropped a message that is not a change batch', topic, bytes: payload.length });
      return;
    }
    const change = parseChange(topic, payload);
    if (change) emit(change);
    else log({ level: 'warn', msg: 'dropped a message that is not a device change', topic, bytes: payload.length });
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

/** The changes of a batch message; undefined when it or any element is not a valid change (none is relayed then). */
export function parseChangeBatch(payload: Buffer): DeviceChange[] | undefined {
  const values = decodeChangeBatch(payload);
  if (!values) return undefined;
  const changes: DeviceChange[] = [];
  for (const value of values) {
    const id = isRecord(value) && isRecord(value.device) ? value.device.id : undefined;
    const change = typeof id === 'string' ? toChange(changeTopic(id), value) : undefined;
    if (!change) return undefined;
    changes.push(change);
  }
  return changes;
}

/** The change carried by one message, or undefined when it is not one (or not on its device's topic). */
export function parseChange(topic: string, payload: Buffer): DeviceChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  return toChange(topic, value);
}

function toChange(topic: string, value: unknown): DeviceChange | undefined {
  if (!isRecord(value) || !isRecord(value.device)) return undefined;
  const { changeType, device, changedAt, sequence } = value;
  if (changeType !== 'CREATED' && changeType !== 'UPDATED' && changeType !== 'DELETED') return undefined;
  if (typeof changedAt !== 'string' || Number.isNaN(Date.parse(changedAt)) || typeof sequence !== 'string') return undefined;
  if (typeof device.id !== 'string' || topic !== changeTopic(device.id)) return undefined;
  if (typeof device.name !== 'string' || typeof device.type !== 'string') return undefined;
  if (!(DEVICE_STATUSES as readonly unknown[]).includes(device.status)) return undefined;
  if (typeof device.createdAt !== 'string' || typeof device.updatedAt !== 'string' || typeof device.version !== 'number') return undefined;
  return {
    changeType,
    changedAt,
    sequence,
    device: {
      ...(device as unknown as DeviceChange['device']),
      metadata: isRecord(device.metadata) ? (device.metadata as Record<string, string>) : {},
      readings: isRecord(device.readings) ? (device.readings as DeviceChange['device']['readings']) : {},
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
