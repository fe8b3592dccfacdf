/**
 * What an admitted client may do, decided per packet by the IoT policy evaluator: a denied
 * publish or subscribe disconnects the client with AUTH_ERROR (as IoT Core does on MQTT 3.1.1),
 * a delivery the policy does not allow is silently withheld. Publishes also pass the limits.
 * IoT Core supports QoS 0 and 1 only, and a retained publish needs iot:RetainPublish, which the
 * device policy does not grant: a QoS 2 or retained publish is denied like a foreign topic, and a
 * QoS 2 subscription is refused.
 */
import type { AedesOptions, Client } from 'aedes';
import type { MqttAuthorizer } from '../policy-evaluator.js';
import type { PublishLimits } from './publish-limits.js';
import type { SessionTable } from './session.js';

/** What authorization needs. */
export interface AuthorizationOptions {
  readonly authorizer: MqttAuthorizer;
  readonly limits: PublishLimits;
  readonly sessions: SessionTable;
  readonly log: (line: string) => void;
  /**
   * Takes an authorized client publish before it is acknowledged: aedes sends the PUBACK (and
   * reads the client's socket again) only once this resolves; a rejection disconnects the client.
   */
  readonly accept?: (client: Client, packet: { topic: string; payload: Buffer | string }) => Promise<void>;
}

/** The aedes authorization hooks. */
export function authorizationHooks(options: AuthorizationOptions): Required<Pick<AedesOptions, 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>> {
  const { authorizer, limits, sessions, log, accept } = options;
  const deny = (client: Client, reason: string): Error => {
    const session = sessions.get(client);
    if (session) session.reason = 'AUTH_ERROR';
    log(`mqtt: ${client.id} denied: ${reason}`);
    return new Error(`Not authorized: ${reason}`);
  };
  return {
    authorizePublish(client, packet, done) {
      // Internal publishers (the bus) have no client and are not devices.
      if (!client) return done(null);
      const session = sessions.get(client);
      if (!session || !authorizer.canPublish(session.context, packet.topic).allowed) return done(deny(client, `publish to ${packet.topic}`));
      if (packet.qos === 2) return done(deny(client, `QoS 2 publish to ${packet.topic}`));
      if (packet.retain && !authorizer.canRetainPublish(session.context, packet.topic).allowed) {
        return done(deny(client, `retained publish to ${packet.topic}`));
      }
      const size = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.byteLength;
      const breach = limits.check(session.bucket, packet.topic, size);
      if (breach) {
        session.reason = breach.reason;
        log(`mqtt: ${client.id} ${breach.detail}`);
        return done(new Error(breach.message));
      }
      if (!accept) return done(null);
      accept(client, packet).then(
        () => done(null),
        (error: unknown) => {
          log(`mqtt: ${client.id} publish to ${packet.topic} not accepted: ${(error as Error).message}`);
          done(error as Error);
        },
      );
    },
    authorizeSubscribe(client, subscription, done) {
      const session = sessions.get(client);
      const decision = session && authorizer.canSubscribe(session.context, subscription.topic);
      if (!decision?.allowed) return done(deny(client, `subscribe to ${subscription.topic}`), null);
      if (subscription.qos === 2) return done(deny(client, `QoS 2 subscription to ${subscription.topic}`), null);
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      const session = sessions.get(client);
      if (!session || !authorizer.canReceive(session.context, packet.topic).allowed) return null;
      return packet;
    },
  };
}
