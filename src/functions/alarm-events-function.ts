/**
 * The alarm-events function as one composition, built by its Lambda module (lambdas/alarm-events)
 * and by the local alarms wing, so both record and publish transitions alike.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createAlarmEventsHandler } from '../alarms/alarm-events-handler.js';
import type { AlarmPublisher } from '../alarms/alarm-notification.js';
import type { AlarmStore } from '../alarms/alarm-store.js';
import type { AlarmCommandActions } from '../alarms/alarm-command-action.js';
import type { Logger } from '../ports/logger.js';

/** What the alarm-events function is built from. */
export interface AlarmEventsFunctionPorts {
  readonly history: Pick<AlarmStore, 'appendHistory'>;
  /** Always published (alarmUpdated, WatchAlarms); publishers may be added later (the local wing's). */
  readonly live: readonly AlarmPublisher[];
  /** Published when the rule notifies (EventBridge and SNS; locally the events file). */
  readonly notify: readonly AlarmPublisher[];
  /** Rules' command actions (sent through the command use case). */
  readonly actions?: Pick<AlarmCommandActions, 'run'>;
  readonly logger: Logger;
}

/** The Alarms stream handler (ReportBatchItemFailures). */
export function composeAlarmEventsFunction(ports: AlarmEventsFunctionPorts): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const { logger } = ports;
  return createAlarmEventsHandler({
    history: ports.history,
    live: ports.live,
    notify: ports.notify,
    ...(ports.actions && { actions: ports.actions }),
    onAction: (outcome, t) => {
      if (outcome.kind === 'sent') logger.info('Alarm command sent', { alarmId: t.alarmId, rev: t.rev, commandId: outcome.command.id, status: outcome.command.status });
      if (outcome.kind === 'device-gone') logger.warn('Alarm command not sent: the device no longer exists', { alarmId: t.alarmId, rev: t.rev });
    },
    onPublished: (n) => logger.info('Alarm transition published', { eventId: n.eventId, from: n.from, to: n.to, severity: n.severity }),
    onFailure: (error) => logger.error('Alarm transition not published; the stream retries it', { error }),
  });
}
