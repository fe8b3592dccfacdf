/**
 * How the broker tells an MQTT 5 client why: where MQTT 3.1.1 can only drop the connection,
 * MQTT 5 answers a policy denial with reason code 0x87 in the PUBACK or SUBACK and keeps the
 * connection, and names the reason in a DISCONNECT when the broker ends it, as IoT Core does.
 */
import type { Client } from 'aedes';
import type { DisconnectReason } from './session.js';

/** The MQTT 5 reason codes the broker sends. */
export const REASON_CODE = {
  UNSPECIFIED_ERROR: 0x80,
  NOT_AUTHORIZED: 0x87,
  SERVER_SHUTTING_DOWN: 0x8b,
  SESSION_TAKEN_OVER: 0x8e,
  PACKET_TOO_LARGE: 0x95,
  MESSAGE_RATE_TOO_HIGH: 0x96,
  ADMINISTRATIVE_ACTION: 0x98,
  QOS_NOT_SUPPORTED: 0x9b,
} as const;

/** The DISCONNECT reason code for each IoT disconnect reason the broker produces. */
const DISCONNECT_CODES: Record<DisconnectReason, number> = {
  AUTH_ERROR: REASON_CODE.NOT_AUTHORIZED,
  CLIENT_ERROR: REASON_CODE.PACKET_TOO_LARGE,
  CLIENT_INITIATED_DISCONNECT: REASON_CODE.UNSPECIFIED_ERROR,
  CONNECTION_LOST: REASON_CODE.UNSPECIFIED_ERROR,
  DUPLICATE_CLIENTID: REASON_CODE.SESSION_TAKEN_OVER,
  MQTT_KEEP_ALIVE_TIMEOUT: REASON_CODE.UNSPECIFIED_ERROR,
  SERVER_INITIATED_DISCONNECT: REASON_CODE.SERVER_SHUTTING_DOWN,
  THROTTLED: REASON_CODE.MESSAGE_RATE_TOO_HIGH,
};

/** Whether the client connected with MQTT 5. */
export function isMqtt5(client: Client): boolean {
  return client.version === 5;
}

/** Ends a connection; an MQTT 5 client first gets a DISCONNECT with `reasonCode` (default: the one of `reason`). */
export function endConnection(client: Client, reason: DisconnectReason, reasonCode = DISCONNECT_CODES[reason]): Promise<void> {
  return new Promise<void>((resolve) => client.disconnect({ reasonCode }, () => resolve()));
}
