/**
 * Publishes every registry change to its internal IoT topic (changeTopic(id)) through the IoT
 * data plane, QoS 1, in the device-change wire form, and telemetry-only changes in gzip'd
 * batches on TELEMETRY_BATCH_TOPIC. The gRPC service on
 * Fargate subscribes to these topics to serve WatchDevices.
 */
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { encodeDeviceChange, encodeDeviceChangeBatch } from '../../contracts/device-change-codec.js';
import type { DeviceChange } from '../../domain/device-change.js';
import { UnavailableError } from '../../domain/errors.js';
import { changeTopic, TELEMETRY_BATCH_TOPIC } from '../../contracts/topics.js';
import { chunks } from '../../change-feed/chunks.js';
import { TELEMETRY_BATCH_MAX_CHANGES } from '../../contracts/live-updates.js';
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

  /** One Publish per TELEMETRY_BATCH_MAX_CHANGES changes, gzip'd, on TELEMETRY_BATCH_TOPIC. */
  async publishTelemetryBatch(changes: readonly DeviceChange[]): Promise<void> {
    try {
      for (const slice of chunks(changes, TELEMETRY_BATCH_MAX_CHANGES)) {
        await this.client.send(
          new PublishCommand({ topic: TELEMETRY_BATCH_TOPIC, qos: 1, contentType: 'application/gzip', payload: encodeDeviceChangeBatch(slice) }),
        );
      }
    } catch (error) {
      throw new UnavailableError(`could not publish a batch of ${changes.length} telemetry changes to IoT`, { cause: error });
    }
  }
}
