/**
 * The Alarms table's stream consumer (a Lambda in the cloud, the local stream poller on the
 * laptop): every instance write is one transition, carried inline. For each, in stream order:
 * record it in the alarm's history (idempotent by rev), then publish it to the live doors
 * (alarmUpdated, WatchAlarms) and, when its rule notifies, to the notification targets
 * (EventBridge and SNS; locally the events file), then run the rule's command action, if any
 * (idempotent per transition). A failure reports that record so the stream
 * retries from it; everything after it comes again, which the history absorbs and which
 * publishers see again with the same eventId (at least once, as EventBridge and SNS are).
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { fromInstanceItem, isInstanceItem } from '../adapters/dynamodb/alarm-store.js';
import type { AlarmStore } from './alarm-store.js';
import { toNotification, type AlarmNotification, type AlarmPublisher } from './alarm-notification.js';
import type { AlarmTransition } from './alarm-state.js';
import type { CommandActionOutcome } from './alarm-command-action.js';

/** Ports of {@link createAlarmEventsHandler}. */
export interface AlarmEventsDeps {
  readonly history: Pick<AlarmStore, 'appendHistory'>;
  /** Always published (the APIs' live views). */
  readonly live: readonly AlarmPublisher[];
  /** Published when the rule's notify flag is set. */
  readonly notify: readonly AlarmPublisher[];
  readonly onPublished?: (notification: AlarmNotification) => void;
  /** Rules' command actions; none when absent. */
  readonly actions?: { run(transition: AlarmTransition): Promise<CommandActionOutcome> };
  /** Told what a transition's command action did. */
  readonly onAction?: (outcome: CommandActionOutcome, transition: AlarmTransition) => void;
  /** Told why a record will be retried. */
  readonly onFailure?: (error: unknown) => void;
}

/** The stream handler. */
export function createAlarmEventsHandler(deps: AlarmEventsDeps): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  return async (event) => {
    for (const record of event.Records ?? []) {
      const image = record.dynamodb?.NewImage;
      if (record.eventName === 'REMOVE' || !image) continue;
      const item = unmarshall(image as Record<string, AttributeValue>);
      if (!isInstanceItem(item)) continue;
      const oldRev = record.dynamodb?.OldImage ? Number(unmarshall(record.dynamodb.OldImage as Record<string, AttributeValue>).rev ?? 0) : 0;
      const instance = fromInstanceItem(item);
      if (instance.rev <= oldRev) continue;
      try {
        await deps.history.appendHistory(instance.last);
        const notification = toNotification(instance.last);
        const targets = instance.notify ? [...deps.live, ...deps.notify] : deps.live;
        await Promise.all(targets.map((p) => p.publish(notification)));
        deps.onPublished?.(notification);
        if (deps.actions) deps.onAction?.(await deps.actions.run(instance.last), instance.last);
      } catch (error) {
        deps.onFailure?.(error);
        return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
      }
    }
    return { batchItemFailures: [] };
  };
}
