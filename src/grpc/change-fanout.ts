/**
 * An in-process ChangeSource: hands every change it is given to every current listener.
 * Also a ChangePublisher, so the local change feed (or a test) can publish into it directly.
 */
import type { DeviceChange } from '../domain/device-change.js';
import type { ChangePublisher, ChangeSource } from '../ports/change-feed.js';

/** Fans changes out to listeners; a throwing listener never stops the others. */
export class ChangeFanout implements ChangeSource, ChangePublisher {
  private readonly listeners = new Set<(change: DeviceChange) => void>();

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  /** Number of listeners (tests check that cancelled watchers unsubscribe). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  subscribe(listener: (change: DeviceChange) => void): () => void {
    // Wrap so the same function can subscribe twice and unsubscribe each separately.
    const entry = (change: DeviceChange): void => listener(change);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Delivers `change` to every listener synchronously. */
  emit(change: DeviceChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  async publish(change: DeviceChange): Promise<void> {
    this.emit(change);
  }
}
