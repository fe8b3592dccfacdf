/** Fans alarm transitions out to alarmUpdated subscribers through the IAM-only publishAlarmUpdate mutation. */
import type { AlarmNotification, AlarmPublisher } from '../../alarms/alarm-notification.js';
import { toAlarmUpdateInput } from '../../wire/graphql-alarm.js';
import { AppSyncMutationSender, type AppSyncMutationOptions } from './appsync-mutation-sender.js';

/** AppSync delivers only the fields a mutation selects, so it selects everything a subscriber may ask for. */
export const PUBLISH_ALARM_UPDATE = /* GraphQL */ `
  mutation PublishAlarmUpdate($input: AlarmUpdateInput!) {
    publishAlarmUpdate(input: $input) {
      id deviceId ruleId ruleName severity state
      transition { rev from to at eventTime value reason actor note ruleVersion }
    }
  }
`;

/** One mutation per transition. */
export class AppSyncAlarmPublisher implements AlarmPublisher {
  private readonly sender: AppSyncMutationSender;

  constructor(options: AppSyncMutationOptions) {
    this.sender = new AppSyncMutationSender(options);
  }

  async publish(notification: AlarmNotification): Promise<void> {
    await this.sender.send('publishAlarmUpdate', PUBLISH_ALARM_UPDATE, { input: toAlarmUpdateInput(notification) });
  }
}
