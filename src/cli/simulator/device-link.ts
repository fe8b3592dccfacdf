/**
 * One simulated device's MQTT connection that outlives its broker: when the connection drops,
 * it connects again (a fresh client, exponential backoff with full jitter, bounded attempts and
 * outage time), runs its setup again (subscriptions, handlers), and publishes again every QoS 1
 * message not yet acknowledged, in order. A message is resent with the same payload (same
 * device seq), and the platform stores a reading once per (thing, seq), so a resend never
 * doubles a reading. Messages published while the link is down wait for the next connection;
 * once the link gives up, they and any later ones fail.
 */
import mqtt, { type MqttClient } from 'mqtt';

/** How a link rides out an outage. */
export interface ReconnectPolicy {
  /** Connection attempts per outage before giving up. */
  readonly attempts: number;
  /** The longest outage ridden out (ms), whatever attempts are left. */
  readonly maxOutageMs: number;
  /** Backoff ceiling of the first attempt; doubles per attempt. */
  readonly baseDelayMs: number;
  /** Highest backoff ceiling. */
  readonly maxDelayMs: number;
}

/** Defaults of `iotctl simulate`: a platform restart (seconds) is ridden out, a platform that is gone for 2 minutes is not. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = Object.freeze({ attempts: 12, maxOutageMs: 120_000, baseDelayMs: 250, maxDelayMs: 10_000 });

/** Where and as whom the link connects. */
export interface LinkEndpoint {
  readonly url: string;
  /** MQTT 3.1.1 (4) or 5. @default 4 */
  readonly protocolVersion?: 4 | 5;
  readonly clientId: string;
  readonly cert: string;
  /** Absent when the key lives elsewhere (a device that sent a CSR cannot be simulated without it). */
  readonly key?: string;
  readonly ca: string;
}

interface Pending {
  readonly topic: string;
  readonly payload: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Hooks of a link. */
export interface LinkEvents {
  /** The connection dropped; reconnecting. */
  readonly onDrop?: () => void;
  /** Connected again after `attempts` attempts. */
  readonly onReconnect?: (attempts: number) => void;
  /** Gave up: the outage outlasted the policy. */
  readonly onGiveUp?: (reason: string) => void;
  /**
   * Runs on every new connection, the first and each reconnect, before resent messages go out:
   * a clean session keeps nothing, so this is where subscriptions and message handlers go.
   */
  readonly setup?: (client: MqttClient) => Promise<void>;
}

/** Connects once (no automatic reconnects); a refused certificate is a bare socket close, so `close` settles it too. */
export function connectClient(endpoint: LinkEndpoint, connectTimeoutMs = 15_000): Promise<MqttClient> {
  return new Promise((resolveClient, reject) => {
    const client = mqtt.connect(endpoint.url, {
      clientId: endpoint.clientId,
      protocolVersion: endpoint.protocolVersion ?? 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: connectTimeoutMs,
      keepalive: 60,
      cert: endpoint.cert,
      ...(endpoint.key && { key: endpoint.key }),
      ca: endpoint.ca,
    });
    const fail = (error: Error) => {
      client.removeAllListeners('connect');
      client.end(true);
      reject(error);
    };
    client.once('connect', () => {
      client.off('error', fail);
      client.off('close', closed);
      resolveClient(client);
    });
    const closed = () => fail(new Error(`${endpoint.clientId}: connection closed during connect`));
    client.once('error', fail);
    client.once('close', closed);
  });
}

/** A device connection that reconnects. */
export class DeviceLink {
  private client: MqttClient | undefined;
  private generation = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private state: 'idle' | 'connected' | 'reconnecting' | 'lost' | 'closed' = 'idle';
  private wake: (() => void) | undefined;
  private lostReason = '';

  constructor(
    private readonly endpoint: LinkEndpoint,
    private readonly policy: ReconnectPolicy = DEFAULT_RECONNECT_POLICY,
    private readonly events: LinkEvents = {},
    private readonly random: () => number = Math.random,
  ) {}

  /** The first connection; throws when it (or its setup) fails (the device is then not part of the run). */
  async open(): Promise<void> {
    const client = await connectClient(this.endpoint);
    try {
      await this.events.setup?.(client);
    } catch (error) {
      client.end(true);
      throw error;
    }
    this.attach(client);
  }

  /** Whether the link has given up. */
  get lost(): boolean {
    return this.state === 'lost';
  }

  /** Publishes at QoS 1; resolves on its PUBACK (on whichever connection), rejects once the link gave up or closed. */
  publish(topic: string, payload: string): Promise<void> {
    if (this.state === 'lost' || this.state === 'closed') return Promise.reject(new Error(`${this.endpoint.clientId}: ${this.lostReason || 'link closed'}`));
    return new Promise<void>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { topic, payload, resolve, reject });
      if (this.state === 'connected') this.send(id);
    });
  }

  /** Unacknowledged messages now. */
  get unacknowledged(): number {
    return this.pending.size;
  }

  /** Ends the connection (gracefully, at most `graceMs`) and stops reconnecting; what is still unacknowledged fails. */
  async close(graceMs = 5_000): Promise<void> {
    const client = this.client;
    this.state = 'closed';
    this.wake?.();
    if (client) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([client.endAsync().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      if (!client.disconnected) client.end(true);
    }
    this.failAll('link closed before the message was acknowledged');
  }

  private attach(client: MqttClient): void {
    const generation = ++this.generation;
    this.client = client;
    this.state = 'connected';
    client.on('error', () => undefined);
    client.once('close', () => {
      if (generation !== this.generation || this.state !== 'connected') return;
      this.events.onDrop?.();
      void this.reconnect();
    });
  }

  private send(id: number): void {
    const message = this.pending.get(id);
    const client = this.client;
    if (!message || !client) return;
    const generation = this.generation;
    client.publish(message.topic, message.payload, { qos: 1 }, (error) => {
      // An answer of an earlier connection: the message was (or will be) sent again on this one.
      if (generation !== this.generation && !error) {
        this.settle(id);
        return;
      }
      if (error) return; // the connection is going; the message waits for the next one
      this.settle(id);
    });
  }

  private settle(id: number): void {
    const message = this.pending.get(id);
    if (!message) return;
    this.pending.delete(id);
    message.resolve();
  }

  private async reconnect(): Promise<void> {
    this.state = 'reconnecting';
    const old = this.client;
    this.client = undefined;
    old?.removeAllListeners('close');
    old?.end(true);
    const started = Date.now();
    for (let attempt = 1; attempt <= this.policy.attempts; attempt += 1) {
      const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.min(Math.floor(this.random() * ceiling), Math.max(0, started + this.policy.maxOutageMs - Date.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      if ((this.state as string) === 'closed') return;
      if (Date.now() - started > this.policy.maxOutageMs) break;
      try {
        const client = await connectClient(this.endpoint, Math.max(1_000, Math.min(15_000, started + this.policy.maxOutageMs - Date.now())));
        if ((this.state as string) === 'closed') {
          client.end(true);
          return;
        }
        this.attach(client);
        // A failed setup (the broker went again) shows as another drop; the messages still go out.
        await this.events.setup?.(client).catch(() => undefined);
        for (const id of [...this.pending.keys()]) this.send(id);
        this.events.onReconnect?.(attempt);
        return;
      } catch {
        // next attempt
      }
    }
    this.state = 'lost';
    this.lostReason = `gave up reconnecting after ${this.policy.attempts} attempts or ${Math.round(this.policy.maxOutageMs / 1000)} s`;
    this.events.onGiveUp?.(this.lostReason);
    this.failAll(this.lostReason);
  }

  private failAll(reason: string): void {
    for (const [id, message] of this.pending) {
      this.pending.delete(id);
      message.reject(new Error(`${this.endpoint.clientId}: ${reason}`));
    }
  }
}
