/**
 * Publishes every registry change to its internal IoT topic (changeTopic(id)) through the IoT
 * data plane, QoS 1, in the device-change wire form. The gRPC service on
 * Fargate subscribes to these topics to serve WatchDevices.
 */
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { encodeDeviceChange } from '../../contracts/device-change-codec.js';
import type { DeviceChange } from '../../domain/device-change.js';
import { UnavailableError } from '../../domain/errors.js';
import { changeTopic } from '../../contracts/topics.js';
import type { ChangePublisher } from '../../ports/change-feed.js';

/** ChangePublisher over the IoT data plane Publish API. */
export class IotChangePublisher implements ChangePublisher {
  constructor(private readonly client: Pick<IoTDataPlaneClient, 'send'>) {}

  async publish(change: DeviceChange): Promise<void> {
    try {
      await this.client.send(
        new PublishCommand({
          topic: changeTopic(change.device.id),
          qos: 1,
          contentType: 'application/json',
          payload: new TextEncoder().encode(encodeDeviceChange(change)),
        }),
      );
    } catch (error) {
      // The events Lambda reports the record as a batch item failure and the stream retries it.
      throw new UnavailableError(`could not publish the change of device ${change.device.id} to IoT`, { cause: error });
    }
  }
}
