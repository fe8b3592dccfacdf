import type { DeviceMessenger } from '../../ports/device-messenger.js';
import type { MessageBus } from '../../ports/message-bus.js';

/** DeviceMessenger over a MessageBus (the local broker's in-process bus), QoS 1. */
export function busDeviceMessenger(bus: Pick<MessageBus, 'publish'>): DeviceMessenger {
  return {
    send: (message) => bus.publish(message.topic, message.payload, { qos: 1 }),
  };
}
