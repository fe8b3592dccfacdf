/** Who is connected to the local broker: the session of each MQTT client and the live client of each client id. */
import type { Client } from 'aedes';
import type { ConnectionContext } from '../policy-evaluator.js';
import { endConnection } from './mqtt5.js';
import type { TokenBucket } from './publish-limits.js';

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

/** What the broker knows about one admitted connection. */
export interface Session {
  readonly context: ConnectionContext;
  readonly sessionIdentifier: string;
  /** The presented certificate's id. */
  readonly principalIdentifier: string;
  /** The device version whose binding admitted this session; a newer one triggers a re-check. */
  checkedVersion: number;
  readonly ipAddress?: string;
  /** Why the connection ends, set by whoever ends it; unset means the connection was lost. */
  reason?: DisconnectReason;
  /** Whether its `connected` lifecycle event went out (a `disconnected` one is then owed). */
  announced: boolean;
  /** The per-connection publish limit. */
  readonly bucket: TokenBucket;
}

/** Sessions by client, and the one live client per client id. */
export class SessionTable {
  private readonly sessions = new WeakMap<Client, Session>();
  private readonly live = new Map<string, Client>();

  /** The session of a client, when it was admitted. */
  get(client: Client): Session | undefined {
    return this.sessions.get(client);
  }

  /** Records an admitted client; the session it takes over from ends as DUPLICATE_CLIENTID, as in IoT. */
  admit(client: Client, session: Session): void {
    const previous = this.live.get(client.id);
    const previousSession = previous && this.sessions.get(previous);
    if (previousSession) previousSession.reason = 'DUPLICATE_CLIENTID';
    this.sessions.set(client, session);
  }

  /** Marks the client as the live one of its id. */
  connected(client: Client): void {
    this.live.set(client.id, client);
  }

  /** Forgets the client as live, unless a newer client of the same id already took over. */
  disconnected(client: Client): void {
    if (this.live.get(client.id) === client) this.live.delete(client.id);
  }

  /** The live client of an id. */
  client(clientId: string): Client | undefined {
    return this.live.get(clientId);
  }

  /** The live client's session of an id. */
  sessionOf(clientId: string): Session | undefined {
    const client = this.live.get(clientId);
    return client && this.sessions.get(client);
  }

  /** Client ids currently connected. */
  ids(): string[] {
    return [...this.live.keys()];
  }

  /** Closes a client's connection with a reason, as IoT would; false when it is not connected. */
  async disconnect(clientId: string, reason: DisconnectReason): Promise<boolean> {
    const client = this.live.get(clientId);
    const session = client && this.sessions.get(client);
    if (!client || !session) return false;
    session.reason = reason;
    await endConnection(client, reason);
    return true;
  }
}
