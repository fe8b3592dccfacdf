/**
 * Publishes every command transition to its internal IoT topic (commandChangeTopic(deviceId))
 * through the IoT data plane, QoS 1, as CommandChange JSON. The gRPC service subscribes to
 * these topics to serve WatchCommands.
 */
import { PublishCommand, type IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import type { CommandChange, CommandChangePublisher } from '../../commands/command-change.js';
import { commandChangeTopic } from '../../contracts/topics.js';
import { UnavailableError } from '../../domain/errors.js';

/** CommandChangePublisher over the IoT data plane Publish API. */
export class IotCommandChangePublisher implements CommandChangePublisher {
  constructor(private readonly client: Pick<IoTDataPlaneClient, 'send'>) {}

  async publish(change: CommandChange): Promise<void> {
    try {
      await this.client.send(
        new PublishCommand({
          topic: commandChangeTopic(change.command.deviceId),
          qos: 1,
          contentType: 'application/json',
          payload: new TextEncoder().encode(JSON.stringify(change)),
        }),
      );
    } catch (error) {
      // The events Lambda reports the record as a batch item failure and the stream retries it.
      throw new UnavailableError(`could not publish the transition of command ${change.command.id} to IoT`, { cause: error });
    }
  }
}
