/**
 * Revoking or deleting a device also ends its live session, as deactivating its certificate
 * does in IoT. Binding and revoking increment the device version, so only a change with a newer
 * version than the session was admitted at costs a read (telemetry writes do not move it).
 */
import { decodeDeviceChange } from '../../../contracts/device-change-codec.js';
import { CHANGE_TOPIC_FILTER } from '../../../contracts/topics.js';
import { admits, type CertificateBinding, type CertificateBindingReader } from '../../../ports/device-credentials.js';
import type { MessageBus } from '../../../ports/message-bus.js';
import type { SessionTable } from './session.js';

/** What revocation needs. */
export interface RevocationOptions {
  readonly bus: MessageBus;
  readonly sessions: SessionTable;
  readonly credentials: CertificateBindingReader;
  readonly log: (line: string) => void;
}

/** A running revocation watch. */
export interface RevocationWatch {
  /**
   * Reads the binding again when `version` is newer than the session's and ends the session
   * when it no longer admits the session's certificate; a failed read keeps the session and logs.
   */
  recheck(clientId: string, version: number): Promise<void>;
  stop(): Promise<void>;
}

/** Watches the change topics for revoked, rebound and deleted devices that are connected. */
export async function watchRevocations(options: RevocationOptions): Promise<RevocationWatch> {
  const { sessions, credentials, log } = options;

  const recheck = async (id: string, version: number): Promise<void> => {
    const client = sessions.client(id);
    const session = sessions.sessionOf(id);
    if (!session || version <= session.checkedVersion) return;
    let binding: CertificateBinding | undefined;
    try {
      binding = await credentials.get(id);
    } catch (error) {
      log(`mqtt: cannot re-check the certificate of ${id}: ${String(error)}`);
      return;
    }
    if (sessions.client(id) !== client) return;
    if (admits(binding, session.principalIdentifier)) {
      session.checkedVersion = Math.max(session.checkedVersion, binding!.version);
      return;
    }
    log(`mqtt: ${id} no longer admitted (${binding?.status === 'REVOKED' ? 'revoked' : 'certificate unbound'}), disconnecting`);
    await sessions.disconnect(id, 'AUTH_ERROR');
  };

  const stop = await options.bus.subscribe(CHANGE_TOPIC_FILTER, (topic, payload) => {
    const decoded = decodeDeviceChange(topic, payload);
    if (!decoded.ok) return;
    const { changeType, device } = decoded.change;
    if (!sessions.client(device.id)) return;
    if (changeType === 'DELETED') {
      log(`mqtt: ${device.id} deleted, disconnecting`);
      void sessions.disconnect(device.id, 'AUTH_ERROR');
      return;
    }
    void recheck(device.id, device.version);
  });

  return { recheck, stop };
}
