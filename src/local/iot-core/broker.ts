/**
 * The local stand-in for AWS IoT Core's device gateway: aedes on a mutual-TLS listener. A client
 * must present a certificate from the local CA; its client id must equal the certificate's
 * thing name, which must be registered and not revoked; every publish, subscribe and delivery
 * is decided by evaluating the same IoT policy document the CDK deploys. Which certificate a
 * thing may use comes from the credential store (never from registry metadata, which API
 * callers can edit). As IoT Core does on MQTT 3.1.1, a denied publish or subscribe disconnects
 * the client (reason AUTH_ERROR), so do a payload over 128 KB (CLIENT_ERROR) and exceeding 100
 * publishes per second (THROTTLED), and lifecycle events go to `$aws/events/presence/...` with
 * IoT's payload shape.
 */
import { Aedes, type Client } from 'aedes';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { isDomainError } from '../../domain/errors.js';
import { changeTopic, CHANGE_TOPIC_FILTER, presenceTopic } from '../../contracts/topics.js';
import { devicePolicyDocument, LOCAL_POLICY_PARAMS, type PolicyDocument } from '../../contracts/iot-policy.js';
import { createMqttAuthorizer, type ConnectionContext } from './policy-evaluator.js';
import { TELEMETRY_RULE_NAME, type PresenceEvent } from '../../contracts/rules.js';
import { DEFAULT_TELEMETRY_LIMITS, MAX_MESSAGES_PER_SECOND } from '../../devices/telemetry-message.js';
import type { MessageBus } from '../../ports/message-bus.js';
import type { DeviceChange } from '../../domain/device-change.js';
import { admits, type CertificateBinding, type CertificateBindingReader } from '../../ports/device-credentials.js';
import type { LocalCa } from './ca.js';
import { createAedesMessageBus } from './message-bus.js';

/** IoT's disconnect reasons that the local broker can produce. */
export type DisconnectReason =
  | 'AUTH_ERROR'
  | 'CLIENT_ERROR'
  | 'CLIENT_INITIATED_DISCONNECT'
  | 'CONNECTION_LOST'
  | 'DUPLICATE_CLIENTID'
  | 'MQTT_KEEP_ALIVE_TIMEOUT'
  | 'SERVER_INITIATED_DISCONNECT'
  | 'THROTTLED';

/** A message a client (or an internal publisher, clientId undefined) published. */
export interface PublishedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly clientId?: string;
  /** Epoch ms when the broker received it. */
  readonly receivedAt: number;
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
}

/** A running local broker. */
export interface LocalBroker {
  readonly host: string;
  readonly port: number;
  /** `mqtts://host:port` */
  readonly url: string;
  /** In-process publish/subscribe on this broker. */
  readonly bus: MessageBus;
  /** Calls `listener` for every accepted publish (after authorization); returns a function that stops it. */
  onPublish(listener: (message: PublishedMessage) => void): () => void;
  /** Client ids currently connected. */
  connectedClientIds(): string[];
  /** Disconnects a client as IoT would; false when it is not connected. */
  disconnect(clientId: string, reason: DisconnectReason): Promise<boolean>;
  /** Disconnects every client (SERVER_INITIATED_DISCONNECT, with lifecycle events) and closes. */
  stop(): Promise<void>;
}

interface Session {
  readonly context: ConnectionContext;
  readonly sessionIdentifier: string;
  /** The presented certificate's id. */
  readonly principalIdentifier: string;
  /** The device version whose binding admitted this session; a newer one triggers a re-check. */
  checkedVersion: number;
  readonly ipAddress?: string;
  reason?: DisconnectReason;
  announced: boolean;
  /** Token bucket of the per-connection publish limit. */
  tokens: number;
  refilledAt: number;
}

class AuthError extends Error {
  constructor(
    message: string,
    readonly returnCode: 3 | 5,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** Starts aedes on a mutual-TLS listener that trusts only the local CA. */
export async function startBroker(options: BrokerOptions): Promise<LocalBroker> {
  const log = options.log ?? (() => undefined);
  const clock = options.clock ?? Date.now;
  const policy = options.policy ?? devicePolicyDocument({ ...LOCAL_POLICY_PARAMS, telemetryRuleName: TELEMETRY_RULE_NAME });
  const authorizer = createMqttAuthorizer(policy, LOCAL_POLICY_PARAMS);
  const publishLimit = options.maxPublishesPerSecond ?? MAX_MESSAGES_PER_SECOND;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes;
  // IoT Core's per-connection limit, as a bucket of one second's worth of publishes.
  const takeToken = (session: Session): boolean => {
    const now = clock();
    session.tokens = Math.min(publishLimit, session.tokens + ((now - session.refilledAt) / 1000) * publishLimit);
    session.refilledAt = now;
    if (session.tokens < 1) return false;
    session.tokens -= 1;
    return true;
  };
  const sessions = new WeakMap<Client, Session>();
  const connected = new Map<string, Client>();
  const versions = new Map<string, number>();
  const listeners = new Set<(message: PublishedMessage) => void>();

  const deny = (client: Client, reason: string): Error => {
    const session = sessions.get(client);
    if (session) session.reason = 'AUTH_ERROR';
    log(`mqtt: ${client.id} denied: ${reason}`);
    return new Error(`Not authorized: ${reason}`);
  };

  const broker = new Aedes({
    authenticate(client, _username, _password, done) {
      void authenticate(client).then(
        (session) => {
          const previous = connected.get(client.id);
          const previousSession = previous && sessions.get(previous);
          if (previousSession) previousSession.reason = 'DUPLICATE_CLIENTID';
          sessions.set(client, session);
          done(null, true);
        },
        (error: AuthError) => {
          log(`mqtt: connection as "${client.id}" refused: ${error.message}`);
          done(Object.assign(error, { returnCode: error.returnCode ?? 5 }), false);
        },
      );
    },
    authorizePublish(client, packet, done) {
      if (!client) return done(null);
      const session = sessions.get(client);
      if (!session || !authorizer.canPublish(session.context, packet.topic).allowed) return done(deny(client, `publish to ${packet.topic}`));
      // IoT Core drops an oversized publish and disconnects its client with CLIENT_ERROR
      // (lifecycle events documentation); nothing of it reaches the rules.
      const size = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.byteLength;
      if (size > maxPayloadBytes) {
        session.reason = 'CLIENT_ERROR';
        log(`mqtt: ${client.id} published ${size} bytes to ${packet.topic}; the limit is ${maxPayloadBytes}`);
        return done(new Error('Payload exceeds the size limit'));
      }
      if (!takeToken(session)) {
        session.reason = 'THROTTLED';
        log(`mqtt: ${client.id} exceeded ${publishLimit} publishes/s`);
        return done(new Error('Throttled'));
      }
      done(null);
    },
    authorizeSubscribe(client, subscription, done) {
      const session = sessions.get(client);
      const decision = session && authorizer.canSubscribe(session.context, subscription.topic);
      if (!decision?.allowed) return done(deny(client, `subscribe to ${subscription.topic}`));
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      const session = sessions.get(client);
      if (!session || !authorizer.canReceive(session.context, packet.topic).allowed) return null;
      return packet;
    },
  });

  async function authenticate(client: Client): Promise<Session> {
    const socket = client.conn as TLSSocket;
    const certificate = socket.getPeerCertificate?.();
    const thingName = certificate?.subject?.CN;
    if (!certificate || !thingName || typeof thingName !== 'string') throw new AuthError('no client certificate', 5);
    const certificateId = certificate.fingerprint256.replaceAll(':', '').toLowerCase();
    let binding: CertificateBinding | undefined;
    try {
      binding = await options.credentials.get(thingName);
    } catch (error) {
      // A malformed thing name is simply not registered; an outage must not look like a denial.
      if (!isDomainError(error) || error.code === 'UNAVAILABLE') throw new AuthError(`registry unavailable: ${String(error)}`, 3);
    }
    // Fail closed: a device with no certificate bound attaches none, rather than any
    // certificate the CA ever issued for its thing name.
    const attachedThing = admits(binding, certificateId) ? thingName : undefined;
    const isAttached = attachedThing !== undefined && client.id === attachedThing;
    const context: ConnectionContext = { clientId: client.id, isAttached, ...(isAttached && { thingName: attachedThing }) };
    if (!authorizer.canConnect(context).allowed) {
      const why = !binding
        ? `thing ${thingName} is not registered`
        : binding.status === 'REVOKED'
          ? `the certificate of ${thingName} is revoked`
          : attachedThing === undefined
            ? `the certificate is not the one registered for ${thingName}`
            : `client id must equal the certificate's thing name ${thingName}`;
      throw new AuthError(why, 5);
    }
    return {
      context,
      sessionIdentifier: randomUUID(),
      principalIdentifier: certificateId,
      checkedVersion: binding!.version,
      ...(socket.remoteAddress && { ipAddress: socket.remoteAddress.replace(/^::ffff:/, '') }),
      announced: false,
      tokens: publishLimit,
      refilledAt: clock(),
    };
  }

  const nextVersion = (clientId: string): number => {
    // Seeded from the clock so numbers keep increasing across broker restarts, as consumers order by them.
    const version = Math.max((versions.get(clientId) ?? 0) + 1, clock());
    versions.set(clientId, version);
    return version;
  };

  const bus = createAedesMessageBus(broker, { onListenerError: (error, topic) => log(`bus: a listener failed on ${topic}: ${String(error)}`) });

  const emitLifecycle = async (client: Client, session: Session, eventType: 'connected' | 'disconnected') => {
    const base = {
      clientId: client.id,
      timestamp: clock(),
      eventType,
      sessionIdentifier: session.sessionIdentifier,
      principalIdentifier: session.principalIdentifier,
      versionNumber: nextVersion(client.id),
    };
    const event: PresenceEvent =
      eventType === 'connected'
        ? { ...base, ...(session.ipAddress && { ipAddress: session.ipAddress }) }
        : {
            ...base,
            clientInitiatedDisconnect: session.reason === 'CLIENT_INITIATED_DISCONNECT',
            disconnectReason: session.reason ?? 'CONNECTION_LOST',
          };
    await bus.publish(presenceTopic(eventType, client.id), JSON.stringify(event), { qos: 1 }).catch((error: unknown) => {
      log(`mqtt: lifecycle event for ${client.id} not published: ${String(error)}`);
    });
  };

  const pendingEvents = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    pendingEvents.add(promise);
    void promise.finally(() => pendingEvents.delete(promise));
  };

  broker.on('clientReady', (client) => {
    const session = sessions.get(client);
    if (!session) return;
    connected.set(client.id, client);
    session.announced = true;
    log(`mqtt: ${client.id} connected`);
    track(emitLifecycle(client, session, 'connected'));
    // A revoke that landed between the admission read and now found no session to end: read again.
    void recheck(client.id, Number.POSITIVE_INFINITY);
  });
  broker.on('keepaliveTimeout', (client) => {
    const session = sessions.get(client);
    if (session) session.reason ??= 'MQTT_KEEP_ALIVE_TIMEOUT';
  });
  broker.on('clientDisconnect', (client) => {
    const session = sessions.get(client);
    if (connected.get(client.id) === client) connected.delete(client.id);
    if (!session?.announced) return;
    session.announced = false;
    // aedes marks a client that sent DISCONNECT; anything else without a reason is a lost connection.
    if (!session.reason && (client as Client & { _disconnected?: boolean })._disconnected) session.reason = 'CLIENT_INITIATED_DISCONNECT';
    log(`mqtt: ${client.id} disconnected (${session.reason ?? 'CONNECTION_LOST'})`);
    track(emitLifecycle(client, session, 'disconnected'));
  });
  broker.on('publish', (packet, client) => {
    if (listeners.size === 0 || packet.topic.startsWith('$SYS/')) return;
    const message: PublishedMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      ...(client && { clientId: client.id }),
      receivedAt: clock(),
    };
    for (const listener of listeners) {
      try {
        listener(message);
      } catch (error) {
        log(`mqtt: publish listener failed: ${String(error)}`);
      }
    }
  });
  broker.on('clientError', (client, error) => log(`mqtt: ${client.id} error: ${error.message}`));
  await broker.listen();

  const server: Server = createServer(
    {
      key: options.ca.server.privateKeyPem,
      cert: options.ca.server.certificatePem,
      ca: [options.ca.caCertificatePem],
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (socket) => broker.handle(socket),
  );
  server.on('tlsClientError', (error) => log(`mqtt: TLS handshake refused: ${error.message}`));
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8883, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  const { port } = server.address() as AddressInfo;

  const disconnect = async (clientId: string, reason: DisconnectReason): Promise<boolean> => {
    const client = connected.get(clientId);
    const session = client && sessions.get(client);
    if (!client || !session) return false;
    session.reason = reason;
    await new Promise<void>((resolve) => client.close(() => resolve()));
    return true;
  };

  /**
   * Reads the binding again and ends the session when it no longer admits the session's
   * certificate (revoked, or bound to another one); a failed read keeps the session and logs.
   */
  const recheck = async (id: string, version: number): Promise<void> => {
    const client = connected.get(id);
    const session = client && sessions.get(client);
    if (!session || version <= session.checkedVersion) return;
    let binding: CertificateBinding | undefined;
    try {
      binding = await options.credentials.get(id);
    } catch (error) {
      log(`mqtt: cannot re-check the certificate of ${id}: ${String(error)}`);
      return;
    }
    if (connected.get(id) !== client) return;
    if (admits(binding, session.principalIdentifier)) {
      session.checkedVersion = Math.max(session.checkedVersion, binding!.version);
      return;
    }
    log(`mqtt: ${id} no longer admitted (${binding?.status === 'REVOKED' ? 'revoked' : 'certificate unbound'}), disconnecting`);
    await disconnect(id, 'AUTH_ERROR');
  };

  // Revoking or deleting a device must also end its live session, as deactivating its certificate
  // does in IoT. Binding and revoking increment the device version, so only a change with a newer
  // version than the session was admitted at costs a read (telemetry writes do not move it).
  const stopWatching = await bus.subscribe(CHANGE_TOPIC_FILTER, (topic, payload) => {
    let change: DeviceChange;
    try {
      change = JSON.parse(payload.toString('utf8')) as DeviceChange;
    } catch {
      return;
    }
    const id = change.device?.id;
    if (!id || topic !== changeTopic(id) || !connected.has(id)) return;
    if (change.changeType === 'DELETED') {
      log(`mqtt: ${id} deleted, disconnecting`);
      void disconnect(id, 'AUTH_ERROR');
      return;
    }
    if (typeof change.device.version === 'number') void recheck(id, change.device.version);
  });

  return {
    host,
    port,
    url: `mqtts://${host}:${port}`,
    bus,
    onPublish(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    connectedClientIds: () => [...connected.keys()],
    disconnect,
    async stop() {
      await stopWatching();
      await Promise.all([...connected.keys()].map((id) => disconnect(id, 'SERVER_INITIATED_DISCONNECT')));
      await Promise.all([...pendingEvents]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
