/**
 * WatchAlarms: every alarm transition from an {@link AlarmTransitionSource} (locally the
 * broker's bus, on Fargate IoT Core: topic internal/alarm-changes/<deviceId>, where the alarm
 * stream consumer publishes), filtered by device id, through the bounded watch hub.
 */
import type { AlarmNotification } from '../alarms/alarm-notification.js';
import { ALARM_SEVERITIES } from '../alarms/alarm-rule.js';
import { ALARM_STATES } from '../alarms/alarm-state.js';
import { ALARM_TOPIC_FILTER, alarmTopic } from '../contracts/topics.js';
import type { WatchAlarmsResponse } from '../generated/proto/iot/device/v1/WatchAlarmsResponse.js';
import type { MessageBus } from '../ports/message-bus.js';
import { toProtoTransition } from './alarm-mapper.js';
import type { Logger } from '../ports/logger.js';
import type { CallContext } from './call-guard.js';
import type { WatchOptions } from './watch-devices.js';
import { BoundedWatchHub } from './watch-hub.js';

/** Where WatchAlarms gets transitions from. */
export interface AlarmTransitionSource {
  subscribe(listener: (notification: AlarmNotification) => void): () => void;
}

/** An in-process source: publish() hands a transition to every current listener (tests, and the bus source below). */
export class AlarmTransitionFanout implements AlarmTransitionSource {
  private readonly listeners = new Set<(n: AlarmNotification) => void>();

  subscribe(listener: (n: AlarmNotification) => void): () => void {
    const entry = (n: AlarmNotification): void => listener(n);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  publish(notification: AlarmNotification): void {
    for (const listener of this.listeners) listener(notification);
  }
}

/** Subscribes to the alarm topics on `bus`; messages that are not a transition on their device's topic are logged and dropped. */
export async function subscribeToAlarms(bus: MessageBus, log: Logger): Promise<AlarmTransitionSource & { close(): Promise<void> }> {
  const fanout = new AlarmTransitionFanout();
  const close = await bus.subscribe(ALARM_TOPIC_FILTER, (topic, payload) => {
    const notification = parseNotification(topic, payload);
    if (notification) fanout.publish(notification);
    else log.warn('dropped a message that is not an alarm transition', { topic, bytes: payload.length });
  });
  return { subscribe: (listener) => fanout.subscribe(listener), close };
}

/** The transition carried by one bus message, or undefined. */
export function parseNotification(topic: string, payload: Buffer): AlarmNotification | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const ok =
    typeof value.deviceId === 'string' &&
    topic === alarmTopic(value.deviceId) &&
    typeof value.alarmId === 'string' &&
    typeof value.ruleId === 'string' &&
    typeof value.rev === 'number' &&
    typeof value.at === 'string' &&
    (ALARM_STATES as readonly unknown[]).includes(value.from) &&
    (ALARM_STATES as readonly unknown[]).includes(value.to) &&
    (ALARM_SEVERITIES as readonly unknown[]).includes(value.severity);
  return ok ? (value as unknown as AlarmNotification) : undefined;
}

/** The WatchAlarms streams. */
export type AlarmWatchHub = BoundedWatchHub<AlarmNotification, WatchAlarmsResponse>;

/** The WatchAlarms hub over `source`. */
export function watchAlarmsHub(source: AlarmTransitionSource, context: CallContext, options: WatchOptions = {}): AlarmWatchHub {
  return new BoundedWatchHub(source, context, {
    method: 'WatchAlarms',
    unit: 'transitions',
    deviceOf: (notification) => notification.deviceId,
    toMessage: (notification) => ({ transition: toProtoTransition(notification) }),
    ...(options.maxQueued !== undefined && { maxQueued: options.maxQueued }),
    ...(options.fanoutChunk !== undefined && { chunk: options.fanoutChunk }),
  });
}
