/**
 * Exactly once per transition for a publisher that cannot deduplicate itself (the local live
 * doors and the events file): the stream delivers at least once, so a redelivered transition,
 * or one older than what this publisher already passed on for that alarm, is dropped.
 */
import type { AlarmNotification, AlarmPublisher } from './alarm-notification.js';

/** Wraps `publisher`; `seen` may be seeded with the last rev already published per alarm. */
export function oncePerTransition(publisher: AlarmPublisher, seen: Map<string, number> = new Map()): AlarmPublisher {
  return {
    async publish(notification: AlarmNotification): Promise<void> {
      if ((seen.get(notification.alarmId) ?? 0) >= notification.rev) return;
      await publisher.publish(notification);
      seen.set(notification.alarmId, notification.rev);
    },
  };
}
