/**
 * IoT lifecycle events: `connected` when a session is admitted and `disconnected` (with its
 * reason) when it ends, on `$aws/events/presence/...`, and `subscribed` once a subscription is
 * in place, on `$aws/events/subscriptions/subscribed/...`, with IoT's payload shapes. The version
 * number increases per client id, across restarts too, so consumers can order the events.
 */
import type { Aedes, Client } from 'aedes';
import type { PresenceEvent } from '../../../contracts/rules.js';
import { presenceTopic, subscriptionEventTopic } from '../../../contracts/topics.js';
import type { MessageBus } from '../../../ports/message-bus.js';
import type { Session, SessionTable } from './session.js';

/** What the lifecycle events need. */
export interface LifecycleOptions {
  readonly broker: Aedes;
  readonly bus: MessageBus;
  readonly sessions: SessionTable;
  readonly clock: () => number;
  readonly log: (line: string) => void;
  /** Called once a client is live (after its `connected` event is on its way). */
  readonly onConnected?: (client: Client) => void;
}

/** Emits the lifecycle events of `broker`'s clients; `settled()` waits for those still being published. */
export function emitLifecycleEvents(options: LifecycleOptions): { settled(): Promise<void> } {
  const { broker, bus, sessions, clock, log } = options;
  const versions = new Map<string, number>();
  const pending = new Set<Promise<void>>();

  const nextVersion = (clientId: string): number => {
    // Seeded from the clock so numbers keep increasing across broker restarts, as consumers order by them.
    const version = Math.max((versions.get(clientId) ?? 0) + 1, clock());
    versions.set(clientId, version);
    return version;
  };

  const track = (published: Promise<void>) => {
    pending.add(published);
    void published.finally(() => pending.delete(published));
  };

  const emit = (client: Client, session: Session, eventType: 'connected' | 'disconnected') => {
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
    const published = bus.publish(presenceTopic(eventType, client.id), JSON.stringify(event), { qos: 1 }).catch((error: unknown) => {
      log(`mqtt: lifecycle event for ${client.id} not published: ${String(error)}`);
    });
    pending.add(published);
    void published.finally(() => pending.delete(published));
  };

  broker.on('clientReady', (client) => {
    const session = sessions.get(client);
    if (!session) return;
    sessions.connected(client);
    session.announced = true;
    log(`mqtt: ${client.id} connected`);
    emit(client, session, 'connected');
    options.onConnected?.(client);
  });
  // Published after aedes stored the subscription, so a consumer that reacts to it (queued
  // commands, the current twin delta) reaches the device.
  broker.on('subscribe', (subscriptions, client) => {
    const session = client && sessions.get(client);
    if (!session?.announced) return;
    const event = {
      clientId: client.id,
      timestamp: clock(),
      eventType: 'subscribed',
      sessionIdentifier: session.sessionIdentifier,
      principalIdentifier: session.principalIdentifier,
      topics: subscriptions.map((subscription) => subscription.topic),
    };
    track(
      bus.publish(subscriptionEventTopic('subscribed', client.id), JSON.stringify(event), { qos: 1 }).catch((error: unknown) => {
        log(`mqtt: subscription event for ${client.id} not published: ${String(error)}`);
      }),
    );
  });
  broker.on('keepaliveTimeout', (client) => {
    const session = sessions.get(client);
    if (session) session.reason ??= 'MQTT_KEEP_ALIVE_TIMEOUT';
  });
  broker.on('clientDisconnect', (client) => {
    const session = sessions.get(client);
    sessions.disconnected(client);
    if (!session?.announced) return;
    session.announced = false;
    // aedes marks a client that sent DISCONNECT; anything else without a reason is a lost connection.
    if (!session.reason && (client as Client & { _disconnected?: boolean })._disconnected) session.reason = 'CLIENT_INITIATED_DISCONNECT';
    log(`mqtt: ${client.id} disconnected (${session.reason ?? 'CONNECTION_LOST'})`);
    emit(client, session, 'disconnected');
  });

  return { settled: async () => void (await Promise.all([...pending])) };
}
