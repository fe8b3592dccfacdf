import type { DeviceMessenger } from '../../ports/device-messenger.js';
import type { MessageBus } from '../../ports/message-bus.js';

/** DeviceMessenger over a MessageBus (the local broker's in-process bus), QoS 1, with the MQTT 5 properties the data plane sets. */
export function busDeviceMessenger(bus: Pick<MessageBus, 'publish'>): DeviceMessenger {
  return {
    send: (message) =>
      bus.publish(message.topic, message.payload, {
        qos: 1,
        properties: {
          contentType: 'application/json',
          ...(message.responseTopic && { responseTopic: message.responseTopic }),
          ...(message.correlationData && { correlationData: Buffer.from(message.correlationData, 'utf8') }),
        },
      }),
  };
}
