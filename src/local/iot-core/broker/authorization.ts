/**
 * What an admitted client may do, decided per packet by the IoT policy evaluator: a denied
 * publish or subscribe disconnects the client with AUTH_ERROR (as IoT Core does on MQTT 3.1.1),
 * a delivery the policy does not allow is silently withheld. Publishes also pass the limits.
 * IoT Core supports QoS 0 and 1 only, and a retained publish needs iot:RetainPublish, which the
 * device policy does not grant: a QoS 2 or retained publish is denied like a foreign topic, and a
 * QoS 2 subscription is refused. An MQTT 5 client is told instead: a policy denial is a 0x87
 * PUBACK or SUBACK on a connection that stays up, and a broken limit or a QoS 2 publish a
 * DISCONNECT with its reason code.
 */
import type { AedesOptions, Client } from 'aedes';
import type { MqttAuthorizer } from '../policy-evaluator.js';
import { endConnection, isMqtt5, REASON_CODE } from './mqtt5.js';
import type { PublishLimits } from './publish-limits.js';
import type { DisconnectReason, SessionTable } from './session.js';

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
  readonly accept?: (client: Client, packet: { topic: string; payload: Buffer | string; properties?: { responseTopic?: string; correlationData?: Buffer; contentType?: string } }) => Promise<void>;
}

/** The aedes authorization hooks. */
export function authorizationHooks(options: AuthorizationOptions): Required<Pick<AedesOptions, 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>> {
  const { authorizer, limits, sessions, log, accept } = options;
  // MQTT 3.1.1 has no way to refuse one packet, so the error ends the connection; aedes answers
  // an MQTT 5 client's denied publish with a 0x87 PUBACK instead and keeps it connected.
  const deny = (client: Client, reason: string): Error => {
    const session = sessions.get(client);
    if (session && !isMqtt5(client)) session.reason = 'AUTH_ERROR';
    log(`mqtt: ${client.id} denied: ${reason}`);
    return new Error(`Not authorized: ${reason}`);
  };
  // Ends the connection whatever the protocol, telling an MQTT 5 client why.
  const cut = (client: Client, reason: DisconnectReason | undefined, reasonCode: number, message: string): Error => {
    const session = sessions.get(client);
    if (session && reason) session.reason = reason;
    if (isMqtt5(client)) void endConnection(client, reason ?? 'CONNECTION_LOST', reasonCode);
    return new Error(message);
  };
  return {
    authorizePublish(client, packet, done) {
      // Internal publishers (the bus) have no client and are not devices.
      if (!client) return done(null);
      const session = sessions.get(client);
      if (!session || !authorizer.canPublish(session.context, packet.topic).allowed) return done(deny(client, `publish to ${packet.topic}`));
      if (packet.qos === 2) {
        log(`mqtt: ${client.id} denied: QoS 2 publish to ${packet.topic}`);
        return done(cut(client, 'AUTH_ERROR', REASON_CODE.QOS_NOT_SUPPORTED, `QoS 2 is not supported: ${packet.topic}`));
      }
      if (packet.retain && !authorizer.canRetainPublish(session.context, packet.topic).allowed) {
        return done(deny(client, `retained publish to ${packet.topic}`));
      }
      const size = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.byteLength;
      const breach = limits.check(session.bucket, packet.topic, size);
      if (breach) {
        log(`mqtt: ${client.id} ${breach.detail}`);
        const code = breach.reason === 'THROTTLED' ? REASON_CODE.MESSAGE_RATE_TOO_HIGH : REASON_CODE.PACKET_TOO_LARGE;
        return done(cut(client, breach.reason, code, breach.message));
      }
      if (!accept) return done(null);
      accept(client, packet).then(
        () => done(null),
        (error: unknown) => {
          log(`mqtt: ${client.id} publish to ${packet.topic} not accepted: ${(error as Error).message}`);
          done(cut(client, undefined, REASON_CODE.UNSPECIFIED_ERROR, (error as Error).message));
        },
      );
    },
    authorizeSubscribe(client, subscription, done) {
      const session = sessions.get(client);
      const decision = session && authorizer.canSubscribe(session.context, subscription.topic);
      const refusal = !decision?.allowed ? `subscribe to ${subscription.topic}` : subscription.qos === 2 ? `QoS 2 subscription to ${subscription.topic}` : undefined;
      if (refusal) {
        const error = deny(client, refusal);
        // A null subscription without an error is a 0x87 SUBACK for that one filter.
        return isMqtt5(client) ? done(null, null) : done(error, null);
      }
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      const session = sessions.get(client);
      if (!session || !authorizer.canReceive(session.context, packet.topic).allowed) return null;
      return packet;
    },
  };
}
