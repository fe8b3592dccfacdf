/**
 * DeviceMessenger over the IoT data plane Publish API (QoS 1). The MQTT 5 properties are set
 * on the publish, so MQTT 5 devices get them; IoT Core leaves them out for MQTT 3.1.1 devices,
 * which read the same values from the envelope.
 */
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { UnavailableError } from '../../domain/errors.js';
import type { DeviceMessage, DeviceMessenger } from '../../ports/device-messenger.js';

/** DeviceMessenger for the cloud. */
export class IotDataDeviceMessenger implements DeviceMessenger {
  constructor(private readonly client: Pick<IoTDataPlaneClient, 'send'>) {}

  async send(message: DeviceMessage): Promise<void> {
    try {
      await this.client.send(
        new PublishCommand({
          topic: message.topic,
          qos: 1,
          contentType: 'application/json',
          payload: new TextEncoder().encode(message.payload),
          ...(message.responseTopic && { responseTopic: message.responseTopic }),
          // The API takes correlation data base64-encoded.
          ...(message.correlationData && { correlationData: Buffer.from(message.correlationData, 'utf8').toString('base64') }),
        }),
      );
    } catch (error) {
      throw new UnavailableError(`could not publish to ${message.topic}`, { cause: error });
    }
  }
}
