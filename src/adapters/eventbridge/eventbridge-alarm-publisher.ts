/** Publishes alarm transitions as EventBridge events (source and detail-type in alarm-notification.ts). */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ALARM_EVENT_DETAIL_TYPE, ALARM_EVENT_SOURCE, type AlarmNotification, type AlarmPublisher } from '../../alarms/alarm-notification.js';
import { UnavailableError } from '../../domain/errors.js';

/** One PutEvents per transition on the configured bus; a refused entry throws so the stream retries. */
export class EventBridgeAlarmPublisher implements AlarmPublisher {
  constructor(
    private readonly client: Pick<EventBridgeClient, 'send'>,
    private readonly eventBusName: string,
  ) {}

  async publish(notification: AlarmNotification): Promise<void> {
    let result;
    try {
      result = await this.client.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: this.eventBusName, Source: ALARM_EVENT_SOURCE, DetailType: ALARM_EVENT_DETAIL_TYPE, Detail: JSON.stringify(notification) }],
        }),
      );
    } catch (error) {
      throw new UnavailableError(`EventBridge PutEvents failed: ${(error as Error).message}`, { cause: error });
    }
    if ((result.FailedEntryCount ?? 0) > 0) {
      const entry = result.Entries?.[0];
      throw new UnavailableError(`EventBridge refused the alarm event: ${entry?.ErrorCode ?? 'error'} ${entry?.ErrorMessage ?? ''}`.trim());
    }
  }
}
