/** An in-memory MessageBus for tests of bus subscribers: exact topic delivery to '#'-filters, as the port describes. */
import type { MessageBus } from '../../src/ports/message-bus.js';

/** Delivers each publish synchronously to every subscription whose '#'-filter prefixes the topic. */
export class MemoryBus implements MessageBus {
  readonly subscriptions = new Map<string, (topic: string, payload: Buffer) => void>();
  async publish(topic: string, payload: Uint8Array | string): Promise<void> {
    for (const [filter, handler] of this.subscriptions) {
      if (topic.startsWith(filter.replace('#', ''))) handler(topic, Buffer.from(payload));
    }
  }
  async subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>> {
    this.subscriptions.set(filter, onMessage);
    return async () => void this.subscriptions.delete(filter);
  }
}
