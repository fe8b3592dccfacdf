/**
 * What the gRPC door's infrastructure (Cognito resource server, app clients, task environment)
 * and its runtime (token verification, per-RPC rights) must agree on.
 */

/** Identifier of the Cognito resource server whose scopes machine callers are granted. */
export const DEVICES_RESOURCE_SERVER = 'devices';

/** Scope names on {@link DEVICES_RESOURCE_SERVER}; a token carries them as `devices/read`. */
export const DEVICES_SCOPE_NAMES = { read: 'read', write: 'write' } as const;

/** The full scope strings as they appear in an access token's `scope` claim. */
export const DEVICES_SCOPES = {
  read: `${DEVICES_RESOURCE_SERVER}/${DEVICES_SCOPE_NAMES.read}`,
  write: `${DEVICES_RESOURCE_SERVER}/${DEVICES_SCOPE_NAMES.write}`,
} as const;

/** A right an RPC needs. */
export type DeviceRight = keyof typeof DEVICES_SCOPES;
