/**
 * MessageBus over MQTT on WebSockets to AWS IoT Core, authenticated with SigV4 from the
 * Fargate task role (no device certificate). Every (re)connection signs a fresh URL, because
 * task-role credentials rotate; subscriptions are restored after each reconnect.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { AwsCredentialIdentity } from '@smithy/types';
import { topicMatches } from '../../contracts/topics.js';
import type { BusConnection, MessageBus } from '../../ports/message-bus.js';
import { signIotWebSocketUrl } from './sigv4-websocket-url.js';
import type { Logger } from '../../ports/logger.js';

/** Options of {@link IotMqttMessageBus.connect}. */
export interface IotMqttMessageBusOptions {
  /** IoT data endpoint host (`xxxx-ats.iot.<region>.amazonaws.com`). */
  readonly endpoint: string;
  readonly region: string;
  /** Called before every connection (the SDK's default provider chain in the cloud). */
  readonly credentials: () => Promise<AwsCredentialIdentity>;
  /** Unique per task; the IAM policy allows `client/<prefix>*` only. */
  readonly clientId: string;
  /** Use this URL instead of a signed one (a local broker in tests). */
  readonly url?: string;
  /** @default 1_000, doubling up to 30_000 */
  readonly reconnectDelayMs?: number;
  readonly log?: Logger;
}

type Handler = (topic: string, payload: Buffer) => void;

/** The cloud MessageBus used by the gRPC service on Fargate. */
export class IotMqttMessageBus implements MessageBus, BusConnection {
  private client: MqttClient | undefined;
  // Up only between "connected and resubscribed" and the next close: with a clean session,
  // anything published while this is false never reaches us.
  private up = false;
  private readonly connectionListeners = new Set<(connected: boolean) => void>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private closed = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: IotMqttMessageBusOptions) {}

  /** Connects (rejects when the first connection fails) and keeps reconnecting afterwards. */
  static async connect(options: IotMqttMessageBusOptions): Promise<IotMqttMessageBus> {
    const bus = new IotMqttMessageBus(options);
    await bus.open();
    return bus;
  }

  /**
   * Whether the MQTT connection is up and every subscription is restored on it. A socket that
   * closes is seen at once; a silently dead one only when MQTT keepalive (30 s) goes unanswered,
   * which mqtt.js detects within 1.5 x keepalive: that is the longest a loss can go unreported.
   */
  get connected(): boolean {
    return this.up;
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    const entry = (connected: boolean): void => listener(connected);
    this.connectionListeners.add(entry);
    return () => {
      this.connectionListeners.delete(entry);
    };
  }

  async publish(topic: string, payload: Uint8Array | string, options?: { qos?: 0 | 1 }): Promise<void> {
    if (!this.client) throw new Error('message bus is not connected');
    await this.client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload), { qos: options?.qos ?? 1 });
  }

  async subscribe(filter: string, onMessage: Handler): Promise<() => Promise<void>> {
    let set = this.handlers.get(filter);
    if (!set) {
      set = new Set();
      this.handlers.set(filter, set);
      // While down, open() subscribes every filter on the next connection.
      if (this.up) await this.client?.subscribeAsync(filter, { qos: 1 });
    }
    const handler: Handler = (topic, payload) => onMessage(topic, payload);
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(filter) === set) {
        this.handlers.delete(filter);
        if (this.client?.connected) await this.client.unsubscribeAsync(filter);
      }
    };
  }

  /** Disconnects and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    await this.client?.endAsync();
  }

  private async open(): Promise<void> {
    const url = this.options.url ?? (await signIotWebSocketUrl({
      endpoint: this.options.endpoint,
      region: this.options.region,
      credentials: await this.options.credentials(),
    }));
    const client = await mqtt.connectAsync(url, {
      clientId: this.options.clientId,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    this.client = client;
    this.failures = 0;
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    client.on('close', () => {
      this.setUp(false);
      this.scheduleReconnect();
    });
    client.on('error', (error) => this.options.log?.warn('mqtt error', { error: error.message }));
    // Loop: subscribe() calls made while these resubscribes are in flight add filters too.
    const filters = new Set<string>();
    for (;;) {
      const missing = [...this.handlers.keys()].filter((filter) => !filters.has(filter));
      if (missing.length === 0) break;
      await client.subscribeAsync(missing, { qos: 1 });
      for (const filter of missing) filters.add(filter);
    }
    // The connection may have dropped while subscribing; its close already scheduled a reconnect.
    if (client.connected) this.setUp(true);
    this.options.log?.info('mqtt connected', { subscriptions: filters.size });
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    for (const listener of this.connectionListeners) {
      try {
        listener(up);
      } catch (error) {
        this.options.log?.error('connection listener failed', { error: String(error) });
      }
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const base = this.options.reconnectDelayMs ?? 1_000;
    const delay = Math.min(30_000, base * 2 ** Math.min(this.failures, 5));
    this.options.log?.warn('mqtt disconnected', { reconnectInMs: delay });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open().catch((error: unknown) => {
        this.failures += 1;
        this.options.log?.warn('mqtt reconnect failed', { error: String(error) });
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const [filter, set] of this.handlers) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of set) handler(topic, payload);
    }
  }
}
