/**
 * The alarm-events function as one composition, built by its Lambda module (lambdas/alarm-events)
 * and by the local alarms wing, so both record and publish transitions alike.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createAlarmEventsHandler } from '../alarms/alarm-events-handler.js';
import type { AlarmPublisher } from '../alarms/alarm-notification.js';
import type { AlarmStore } from '../alarms/alarm-store.js';
import type { Logger } from '../ports/logger.js';

/** What the alarm-events function is built from. */
export interface AlarmEventsFunctionPorts {
  readonly history: Pick<AlarmStore, 'appendHistory'>;
  /** Always published (alarmUpdated, WatchAlarms); publishers may be added later (the local wing's). */
  readonly live: readonly AlarmPublisher[];
  /** Published when the rule notifies (EventBridge and SNS; locally the events file). */
  readonly notify: readonly AlarmPublisher[];
  readonly logger: Logger;
}

/** The Alarms stream handler (ReportBatchItemFailures). */
export function composeAlarmEventsFunction(ports: AlarmEventsFunctionPorts): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const { logger } = ports;
  return createAlarmEventsHandler({
    history: ports.history,
    live: ports.live,
    notify: ports.notify,
    onPublished: (n) => logger.info('Alarm transition published', { eventId: n.eventId, from: n.from, to: n.to, severity: n.severity }),
    onFailure: (error) => logger.error('Alarm transition not published; the stream retries it', { error }),
  });
}
