/**
 * Publish/subscribe over MQTT-style topics, for internal publishers and subscribers (the change
 * feed relay, gRPC WatchDevices). Locally the embedded broker in-process; in the cloud the IoT
 * data plane (publish) and MQTT over WSS with SigV4 (subscribe).
 */
export interface MessageBus extends Partial<BusConnection> {
  /** Publishes one message; resolves once the bus accepted it (QoS 1: delivered to the broker). */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void>;
  /** Subscribes to an MQTT topic filter (`+`, `#`); resolves to an unsubscribe function. */
  subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>>;
}

/** How a message is published. */
export interface PublishOptions {
  readonly qos?: 0 | 1;
  /** MQTT 5 properties, for MQTT 5 subscribers (a bus that cannot carry them leaves them out). */
  readonly properties?: MqttProperties;
}

/** The MQTT 5 publish properties the platform sets and reads. */
export interface MqttProperties {
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  readonly contentType?: string;
}

/**
 * Connection state of a bus that can lose its broker (cloud MQTT with a clean session: messages
 * published while it is down are lost). A bus without it (the in-process broker) is always connected.
 */
export interface BusConnection {
  /** True once connected AND every subscription is (re)established. */
  readonly connected: boolean;
  /** Calls `listener` on every change of `connected`; returns a function that stops it. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}
