/**
 * WatchAlarms: relays every alarm transition from an {@link AlarmTransitionSource} (locally the
 * broker's bus, on Fargate IoT Core: topic internal/alarm-changes/<deviceId>, where the alarm
 * stream consumer publishes) to the stream, filtered by device id. Like WatchDevices, a stream
 * has a bounded queue behind grpc-js' buffer; a consumer more than `maxQueued` transitions
 * behind gets RESOURCE_EXHAUSTED.
 */
import { Metadata, type ServerWritableStream, type StatusObject } from '@grpc/grpc-js';
import type { AlarmNotification } from '../alarms/alarm-notification.js';
import { ALARM_SEVERITIES } from '../alarms/alarm-rule.js';
import { ALARM_STATES } from '../alarms/alarm-state.js';
import { ALARM_TOPIC_FILTER, alarmTopic } from '../contracts/topics.js';
import type { WatchAlarmsRequest__Output } from '../generated/proto/iot/device/v1/WatchAlarmsRequest.js';
import type { WatchAlarmsResponse } from '../generated/proto/iot/device/v1/WatchAlarmsResponse.js';
import type { MessageBus } from '../ports/message-bus.js';
import { toProtoTransition } from './alarm-mapper.js';
import type { Logger } from '../ports/logger.js';
import { cancelCode, rejectRequest, type CallContext } from './call-guard.js';
import { statusName, toGrpcStatus, REFUSAL_CODES } from './error-mapper.js';
import { idFilter } from './watch-devices.js';

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

type WatchCall = ServerWritableStream<WatchAlarmsRequest__Output, WatchAlarmsResponse>;

/** Serves WatchAlarms streams and can end them all (graceful shutdown). */
export class AlarmWatchHub {
  private readonly streams = new Set<(status: Pick<StatusObject, 'code' | 'details'>) => void>();

  constructor(
    private readonly source: AlarmTransitionSource,
    private readonly context: CallContext,
    private readonly maxQueued = 256,
  ) {}

  /** Number of open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Ends every open stream with `status`. */
  closeAll(status: Pick<StatusObject, 'code' | 'details'>): void {
    for (const close of [...this.streams]) close(status);
  }

  /** The WatchAlarms handler. */
  readonly handle = (call: WatchCall): void => {
    const started = performance.now();
    let delivered = 0;
    const log = (code: number, details?: string): void =>
      this.context.log.info('rpc', { method: 'WatchAlarms', code: statusName(code), durationMs: Math.round(performance.now() - started), delivered, ...(details && { details }) });
    const refused = rejectRequest(call.request, call.metadata);
    if (refused) {
      call.emit('error', refused);
      return log(refused.code, refused.details);
    }
    let filter: Set<string> | undefined;
    try {
      filter = idFilter(call.request.deviceIds);
    } catch (error) {
      const status = toGrpcStatus(error);
      call.emit('error', status);
      return log(status.code, status.details);
    }
    const queue: WatchAlarmsResponse[] = [];
    let writable = true;
    let ended = false;
    const finish = (status?: Pick<StatusObject, 'code' | 'details'>): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      this.streams.delete(finish);
      call.removeListener('drain', drain);
      queue.length = 0;
      if (status) {
        call.emit('error', status);
        log(status.code, status.details);
      } else log(cancelCode(call));
    };
    const drain = (): void => {
      writable = true;
      while (writable && queue.length > 0 && !ended) {
        writable = call.write(queue.shift()!);
        delivered += 1;
      }
    };
    const unsubscribe = this.source.subscribe((n) => {
      if (ended || (filter && !filter.has(n.deviceId))) return;
      const message: WatchAlarmsResponse = { transition: toProtoTransition(n) };
      if (writable && queue.length === 0) {
        writable = call.write(message);
        delivered += 1;
        return;
      }
      queue.push(message);
      if (queue.length > this.maxQueued) finish({ code: REFUSAL_CODES.consumerTooSlow, details: `consumer fell more than ${this.maxQueued} transitions behind` });
    });
    this.streams.add(finish);
    call.on('drain', drain);
    call.once('cancelled', () => finish());
    call.sendMetadata(new Metadata());
  };
}
