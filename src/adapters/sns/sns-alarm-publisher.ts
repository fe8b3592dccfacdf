/**
 * Publishes alarm transitions to the alarm notifications SNS topic. The message is the event
 * JSON; severity, state, deviceId and ruleId travel as message attributes so a subscription's
 * filter policy can pick, e.g., only CRITICAL alarms becoming ACTIVE for an e-mail address.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { AlarmNotification, AlarmPublisher } from '../../alarms/alarm-notification.js';
import { UnavailableError } from '../../domain/errors.js';

/** SNS subjects are at most 100 characters. */
const MAX_SUBJECT = 100;

/** One Publish per transition. */
export class SnsAlarmPublisher implements AlarmPublisher {
  constructor(
    private readonly client: Pick<SNSClient, 'send'>,
    private readonly topicArn: string,
  ) {}

  async publish(n: AlarmNotification): Promise<void> {
    const subject = `[${n.severity}] ${n.ruleName}: ${n.to} on ${n.deviceId}`.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_SUBJECT);
    const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
    try {
      await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: subject,
          Message: JSON.stringify(n, null, 2),
          MessageAttributes: { severity: attribute(n.severity), state: attribute(n.to), deviceId: attribute(n.deviceId), ruleId: attribute(n.ruleId) },
        }),
      );
    } catch (error) {
      throw new UnavailableError(`SNS Publish failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
