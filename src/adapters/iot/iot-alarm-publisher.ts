/**
 * Publishes every alarm transition to its device's internal IoT topic (alarmTopic(deviceId))
 * through the IoT data plane, QoS 1; the gRPC service subscribes to serve WatchAlarms.
 */
import { PublishCommand, type IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import type { AlarmNotification, AlarmPublisher } from '../../alarms/alarm-notification.js';
import { alarmTopic } from '../../contracts/topics.js';
import { UnavailableError } from '../../domain/errors.js';

/** AlarmPublisher over the IoT data plane Publish API. */
export class IotAlarmPublisher implements AlarmPublisher {
  constructor(private readonly client: Pick<IoTDataPlaneClient, 'send'>) {}

  async publish(notification: AlarmNotification): Promise<void> {
    try {
      await this.client.send(
        new PublishCommand({ topic: alarmTopic(notification.deviceId), qos: 1, contentType: 'application/json', payload: new TextEncoder().encode(JSON.stringify(notification)) }),
      );
    } catch (error) {
      throw new UnavailableError(`could not publish alarm transition ${notification.eventId} to IoT`, { cause: error });
    }
  }
}
