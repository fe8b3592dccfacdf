/**
 * The local stand-in for AWS IoT Core's device gateway: aedes on a mutual-TLS listener, composed
 * of one part per concern, each in broker/: authentication (certificate, registered binding,
 * client id = thing name), authorization (the same IoT policy document the CDK deploys, a denial
 * disconnects with AUTH_ERROR as IoT Core does on MQTT 3.1.1), publish limits (128 KB payloads,
 * 100 publishes/s per connection), lifecycle events (`$aws/events/presence/...` with IoT's
 * payload shape) and revocation (a revoked or deleted device loses its live session).
 */
import { Aedes, type AedesOptions } from 'aedes';
import { devicePolicyDocument, LOCAL_POLICY_PARAMS, type PolicyDocument } from '../../contracts/iot-policy.js';
import { TELEMETRY_RULE_NAME } from '../../contracts/rules.js';
import { DEFAULT_TELEMETRY_LIMITS, MAX_MESSAGES_PER_SECOND } from '../../devices/telemetry-message.js';
import type { CertificateBindingReader } from '../../ports/device-credentials.js';
import type { MessageBus, MqttProperties } from '../../ports/message-bus.js';
import { authenticationHook } from './broker/authentication.js';
import { authorizationHooks } from './broker/authorization.js';
import { emitLifecycleEvents } from './broker/lifecycle-events.js';
import { createPublishLimits } from './broker/publish-limits.js';
import { watchRevocations, type RevocationWatch } from './broker/revocation.js';
import { SessionTable, type DisconnectReason } from './broker/session.js';
import { listenTls } from './broker/tls-listener.js';
import type { LocalCa } from './ca.js';
import { createMqttAuthorizer } from './policy-evaluator.js';
import { createAedesMessageBus } from './message-bus.js';

export type { DisconnectReason } from './broker/session.js';

/** A message a client (or an internal publisher, clientId undefined) published. */
export interface PublishedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly clientId?: string;
  /** Epoch ms when the broker received it. */
  readonly receivedAt: number;
  /** The MQTT 5 properties the rules engine can read (`get_mqtt_property`); none from an MQTT 3.1.1 client. */
  readonly properties?: MqttProperties;
}

/** Options of {@link startBroker}. */
export interface BrokerOptions {
  readonly ca: LocalCa;
  /** Certificate bindings by thing name (= device id); undefined for a thing that is not registered. */
  readonly credentials: CertificateBindingReader;
  /** @default the device policy for the local region/account and the telemetry rule */
  readonly policy?: PolicyDocument;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 8883; 0 picks a free port */
  readonly port?: number;
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Publishes per second per connection before the client is disconnected (THROTTLED). @default MAX_MESSAGES_PER_SECOND */
  readonly maxPublishesPerSecond?: number;
  /** Largest PUBLISH payload in bytes; a bigger one disconnects the client (CLIENT_ERROR). @default 128 KB, IoT Core's limit */
  readonly maxPayloadBytes?: number;
  /**
   * Takes each authorized client publish before its PUBACK (the local stream's durable append):
   * the client is acknowledged, and its socket read again, only once this resolves.
   * @default acknowledge at once
   */
  readonly acceptPublish?: (message: PublishedMessage) => Promise<void>;
}

/** A running local broker. */
export interface LocalBroker {
  readonly host: string;
  readonly port: number;
  /** `mqtts://host:port` */
  readonly url: string;
  /** In-process publish/subscribe on this broker. */
  readonly bus: MessageBus;
  /**
   * Calls `listener` for every accepted publish (after authorization); returns a function that
   * stops it. The publish completes (an internal publisher's promise resolves, a client's next
   * packet is read) only once the listener's promise settles: how a slow consumer holds back
   * publishers instead of queuing their messages.
   */
  onPublish(listener: (message: PublishedMessage) => Promise<void> | void): () => void;
  /** Client ids currently connected. */
  connectedClientIds(): string[];
  /** Disconnects a client as IoT would; false when it is not connected. */
  disconnect(clientId: string, reason: DisconnectReason): Promise<boolean>;
  /** Disconnects every client (SERVER_INITIATED_DISCONNECT, with lifecycle events) and closes. */
  stop(): Promise<void>;
}

/** Starts aedes on a mutual-TLS listener that trusts only the local CA. */
export async function startBroker(options: BrokerOptions): Promise<LocalBroker> {
  const log = options.log ?? (() => undefined);
  const clock = options.clock ?? Date.now;
  const policy = options.policy ?? devicePolicyDocument({ ...LOCAL_POLICY_PARAMS, telemetryRuleName: TELEMETRY_RULE_NAME });
  const authorizer = createMqttAuthorizer(policy, LOCAL_POLICY_PARAMS);
  const limits = createPublishLimits({
    maxPublishesPerSecond: options.maxPublishesPerSecond ?? MAX_MESSAGES_PER_SECOND,
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes,
    clock,
  });
  const sessions = new SessionTable();
  const publishes = relayPublishes(clock, log);
  const broker = new Aedes({
    published: publishes.hook,
    authenticate: authenticationHook({ credentials: options.credentials, authorizer, limits, sessions, log, clock }),
    ...authorizationHooks({
      authorizer,
      limits,
      sessions,
      log,
      ...(options.acceptPublish && {
        accept: (client, packet) =>
          options.acceptPublish!({
            topic: packet.topic,
            payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
            clientId: client.id,
            receivedAt: clock(),
            ...mqttProperties(packet.properties),
          }),
      }),
    }),
  });
  const bus = createAedesMessageBus(broker, { onListenerError: (error, topic) => log(`bus: a listener failed on ${topic}: ${String(error)}`) });
  let revocations: RevocationWatch | undefined;
  // A revoke that landed between the admission read and the connection going live found no session to end: read again.
  const lifecycle = emitLifecycleEvents({ broker, bus, sessions, clock, log, onConnected: (client) => void revocations?.recheck(client.id, Number.POSITIVE_INFINITY) });
  broker.on('clientError', (client, error) => log(`mqtt: ${client.id} error: ${error.message}`));
  await broker.listen();
  // Before the listener: no client can be live without the watch.
  revocations = await watchRevocations({ bus, sessions, credentials: options.credentials, log, clock });
  const watch = revocations;

  const host = options.host ?? '127.0.0.1';
  let listener: Awaited<ReturnType<typeof listenTls>>;
  try {
    listener = await listenTls({ ca: options.ca, host, port: options.port ?? 8883, log, handle: (socket) => broker.handle(socket) });
  } catch (error) {
    await watch.stop();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }

  return {
    host,
    port: listener.port,
    url: `mqtts://${host}:${listener.port}`,
    bus,
    onPublish: publishes.add,
    connectedClientIds: () => sessions.ids(),
    disconnect: (clientId, reason) => sessions.disconnect(clientId, reason),
    async stop() {
      await watch.stop();
      await Promise.all(sessions.ids().map((id) => sessions.disconnect(id, 'SERVER_INITIATED_DISCONNECT')));
      await lifecycle.settled();
      await listener.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** The properties of an MQTT 5 publish the platform reads, as a spreadable `{ properties }` (empty without any). */
function mqttProperties(properties: { responseTopic?: string; correlationData?: Buffer; contentType?: string } | undefined): { properties?: MqttProperties } {
  if (!properties) return {};
  const { responseTopic, correlationData, contentType } = properties;
  if (responseTopic === undefined && correlationData === undefined && contentType === undefined) return {};
  return { properties: { ...(responseTopic !== undefined && { responseTopic }), ...(correlationData !== undefined && { correlationData }), ...(contentType !== undefined && { contentType }) } };
}

/**
 * Hands every accepted publish (after authorization) to the listeners through aedes' `published`
 * hook, which aedes waits for before it completes the publish; a failing listener is logged, not fatal.
 */
function relayPublishes(clock: () => number, log: (line: string) => void) {
  type Listener = (message: PublishedMessage) => Promise<void> | void;
  const listeners = new Set<Listener>();
  const failed = (error: unknown) => log(`mqtt: publish listener failed: ${String(error)}`);
  const hook: NonNullable<AedesOptions['published']> = (packet, client, done) => {
    if (listeners.size === 0 || packet.topic.startsWith('$SYS/')) return done(null);
    const message: PublishedMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      ...(client && { clientId: client.id }),
      receivedAt: clock(),
      ...mqttProperties(packet.properties),
    };
    const waits: Promise<void>[] = [];
    for (const listener of listeners) {
      try {
        const pending = listener(message);
        if (pending) waits.push(pending.catch(failed));
      } catch (error) {
        failed(error);
      }
    }
    if (waits.length === 0) return done(null);
    void Promise.all(waits).then(() => done(null));
  };
  return {
    hook,
    add(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
