/**
 * MessageBus over the embedded aedes broker, in-process: internal publishers (the change feed
 * relay) and subscribers (gRPC WatchDevices, the rules runner) use it without a client
 * certificate, and devices reach these topics only as far as the IoT policy lets them.
 */
import type { Aedes, AedesPublishPacket } from 'aedes';
import type { MessageBus } from '../../ports/message-bus.js';
import { UnavailableError, ValidationError } from '../../domain/errors.js';

/** A MessageBus that publishes into and subscribes on `broker` directly. */
export function createAedesMessageBus(
  broker: Aedes,
  options: { onListenerError?: (error: unknown, topic: string) => void } = {},
): MessageBus {
  // One subscriber's bug must not stop delivery to the others (aedes delivers in one chain).
  const onListenerError =
    options.onListenerError ?? ((error: unknown, topic: string) => process.emitWarning(`message bus listener failed on ${topic}: ${String(error)}`));
  return {
    publish(topic, payload, options) {
      if (!topic || topic.includes('+') || topic.includes('#')) {
        return Promise.reject(new ValidationError(`Cannot publish to topic "${topic}"`, 'topic'));
      }
      if (broker.closed) return Promise.reject(new UnavailableError('The local broker is closed'));
      const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      return new Promise((resolve, reject) => {
        const properties = options?.properties && Object.fromEntries(Object.entries(options.properties).filter(([, value]) => value !== undefined));
        broker.publish({ cmd: 'publish', topic, payload: body, qos: options?.qos ?? 0, retain: false, dup: false, ...(properties && { properties }) }, (error) =>
          error ? reject(new UnavailableError(`Publish to ${topic} failed`, { cause: error })) : resolve(),
        );
      });
    },
    subscribe(filter, onMessage) {
      if (!filter) return Promise.reject(new ValidationError('A topic filter is required', 'filter'));
      const deliver = (packet: AedesPublishPacket, done: () => void) => {
        try {
          onMessage(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
        } catch (error) {
          onListenerError(error, packet.topic);
        }
        done();
      };
      return new Promise((resolve) => {
        broker.subscribe(filter, deliver, () =>
          resolve(() => new Promise<void>((done) => broker.unsubscribe(filter, deliver, () => done()))),
        );
      });
    },
  };
}
