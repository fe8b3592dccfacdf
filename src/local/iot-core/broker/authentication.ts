/**
 * Who may connect: a client certificate from the local CA whose thing is registered with that
 * very certificate bound and not revoked, connecting with the thing name as client id, as the
 * IoT policy's `iot:Connect` statement allows. The binding comes from the credential store,
 * never from registry metadata, which API callers can edit.
 */
import type { AedesOptions, Client } from 'aedes';
import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { isDomainError } from '../../../domain/errors.js';
import { admits, type CertificateBinding, type CertificateBindingReader } from '../../../ports/device-credentials.js';
import type { ConnectionContext, MqttAuthorizer } from '../policy-evaluator.js';
import type { PublishLimits } from './publish-limits.js';
import type { Session, SessionTable } from './session.js';

/** A refused connection, with the MQTT 3.1.1 CONNACK return code (3 server unavailable, 5 not authorized). */
export class AuthError extends Error {
  readonly code = 'MQTT_CONNECT_REFUSED';

  constructor(
    message: string,
    readonly returnCode: 3 | 5,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** What authentication needs. */
export interface AuthenticationOptions {
  readonly credentials: CertificateBindingReader;
  readonly authorizer: MqttAuthorizer;
  readonly limits: PublishLimits;
  readonly sessions: SessionTable;
  readonly log: (line: string) => void;
  /** Epoch ms: the end of a rotation's grace period is judged by it. */
  readonly clock: () => number;
}

/** The aedes `authenticate` hook: admits a client into `sessions` or refuses it with its CONNACK code. */
export function authenticationHook(options: AuthenticationOptions): NonNullable<AedesOptions['authenticate']> {
  return (client, _username, _password, done) => {
    void authenticate(client, options).then(
      (session) => {
        options.sessions.admit(client, session);
        done(null, true);
      },
      (error: AuthError) => {
        options.log(`mqtt: connection as "${client.id}" refused: ${error.message}`);
        done(Object.assign(error, { returnCode: error.returnCode ?? 5 }), false);
      },
    );
  };
}

async function authenticate(client: Client, options: AuthenticationOptions): Promise<Session> {
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
  const attachedThing = admits(binding, certificateId, options.clock()) ? thingName : undefined;
  const isAttached = attachedThing !== undefined && client.id === attachedThing;
  const context: ConnectionContext = { clientId: client.id, isAttached, ...(isAttached && { thingName: attachedThing }) };
  if (!options.authorizer.canConnect(context).allowed) {
    const why = !binding
      ? `thing ${thingName} is not registered`
      : binding.status === 'REVOKED'
        ? `the certificate of ${thingName} is revoked`
        : attachedThing === undefined
          ? binding.certificateId === certificateId
            ? `the certificate of ${thingName} was replaced by a rotation whose grace period ended`
            : `the certificate is not the one registered for ${thingName}`
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
    bucket: options.limits.bucket(),
  };
}
