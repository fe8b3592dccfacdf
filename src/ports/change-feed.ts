import type { DeviceChange } from '../domain/device-change.js';

/** Fans a registry change out to one kind of watcher (AppSync subscribers, an IoT topic, ...). */
export interface ChangePublisher {
  publish(change: DeviceChange): Promise<void>;
  /**
   * Telemetry-only changes of one change-feed batch, at most one per device (its newest), in
   * one delivery. A publisher without it gets each of them through publish().
   */
  publishTelemetryBatch?(changes: readonly DeviceChange[]): Promise<void>;
}

/** A live source of registry changes that a door can relay (gRPC WatchDevices). */
export interface ChangeSource {
  /** Calls `listener` for every change from now on; returns a function that stops it. */
  subscribe(listener: (change: DeviceChange) => void): () => void;
}
