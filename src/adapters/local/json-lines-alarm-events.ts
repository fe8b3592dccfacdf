/** The local stand-in for the EventBridge and SNS targets: alarm events appended to `.local/alarm-events.jsonl`. */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AlarmNotification, AlarmPublisher } from '../../alarms/alarm-notification.js';
import { oncePerTransition } from '../../alarms/once-per-transition.js';
import { UnavailableError } from '../../domain/errors.js';

/** Every event in the file, oldest first. */
export async function readAlarmEvents(path: string): Promise<AlarmNotification[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AlarmNotification);
}

/**
 * A publisher appending one JSON line per transition. It remembers the newest rev per alarm
 * already in the file, so a transition redelivered after a restart is not written twice.
 */
export async function openAlarmEventsFile(path: string): Promise<AlarmPublisher> {
  const seen = new Map<string, number>();
  for (const event of await readAlarmEvents(path)) seen.set(event.alarmId, Math.max(seen.get(event.alarmId) ?? 0, event.rev));
  await mkdir(dirname(path), { recursive: true });
  return oncePerTransition(
    {
      async publish(notification) {
        try {
          await appendFile(path, `${JSON.stringify(notification)}\n`, 'utf8');
        } catch (error) {
          throw new UnavailableError(`cannot append alarm event to ${path}`, { cause: error });
        }
      },
    },
    seen,
  );
}
