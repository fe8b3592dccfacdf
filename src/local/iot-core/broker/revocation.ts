/**
 * Revoking or deleting a device also ends its live session, as deactivating its certificate
 * does in IoT. Binding, revoking and rotating increment the device version, so only a change
 * with a newer version than the session was admitted at costs a read (telemetry writes do not
 * move it). A session admitted with a certificate that a pending rotation replaces ends when
 * the rotation is finished (a change) or when its grace period ends (a timer, since nothing is
 * written then).
 */
import { decodeDeviceChange } from '../../../contracts/device-change-codec.js';
import { CHANGE_TOPIC_FILTER } from '../../../contracts/topics.js';
import { admits, graceEndOf, type CertificateBinding, type CertificateBindingReader } from '../../../ports/device-credentials.js';
import type { MessageBus } from '../../../ports/message-bus.js';
import type { SessionTable } from './session.js';

/** What revocation needs. */
export interface RevocationOptions {
  readonly bus: MessageBus;
  readonly sessions: SessionTable;
  readonly credentials: CertificateBindingReader;
  readonly log: (line: string) => void;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
}

/** setTimeout's longest delay; a later grace end is re-armed from there. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  const clock = options.clock ?? Date.now;
  const graceTimers = new Map<string, NodeJS.Timeout>();

  /** Re-checks the session of `id` when the grace period of its certificate ends. */
  const armGraceEnd = (id: string, endsAt: number): void => {
    clearTimeout(graceTimers.get(id));
    const timer = setTimeout(() => {
      graceTimers.delete(id);
      void recheck(id, Number.POSITIVE_INFINITY);
    }, Math.min(Math.max(endsAt - clock(), 0), MAX_TIMER_MS));
    timer.unref();
    graceTimers.set(id, timer);
  };

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
    if (admits(binding, session.principalIdentifier, clock())) {
      session.checkedVersion = Math.max(session.checkedVersion, binding!.version);
      const graceEnd = graceEndOf(binding);
      if (graceEnd !== undefined && binding!.certificateId === session.principalIdentifier) armGraceEnd(id, graceEnd);
      return;
    }
    const why = binding?.status === 'REVOKED' ? 'revoked' : binding?.certificateId === session.principalIdentifier ? 'the grace period of its rotation ended' : 'certificate replaced or unbound';
    log(`mqtt: ${id} no longer admitted (${why}), disconnecting`);
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

  return {
    recheck,
    async stop() {
      for (const timer of graceTimers.values()) clearTimeout(timer);
      graceTimers.clear();
      await stop();
    },
  };
}
