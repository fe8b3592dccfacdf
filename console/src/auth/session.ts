import type { ApiGroup } from '../../../src/contracts/console-config';

/** A signed-in person: the token the API takes, who they are, and until when it holds. */
export interface Session {
  /** The user pool token sent as Authorization (an ID token: it carries cognito:groups). */
  readonly token: string;
  readonly user: string;
  readonly groups: readonly string[];
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** Whether the session may write (create, edit, delete): only the admin group. */
export function isAdmin(session: Session | undefined): boolean {
  return session?.groups.includes('admin' satisfies ApiGroup) ?? false;
}

/** Claims of a JWT, read without verifying (the API verifies; the console only displays). */
export function decodeClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/** A session from a user pool token: user name, groups and expiry from its claims. */
export function sessionFromToken(token: string): Session {
  const claims = decodeClaims(token);
  const groups = Array.isArray(claims['cognito:groups']) ? (claims['cognito:groups'] as unknown[]).filter((g): g is string => typeof g === 'string') : [];
  const user = String(claims['cognito:username'] ?? claims.email ?? claims.sub ?? 'unknown');
  const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
  return { token, user, groups, expiresAt: exp };
}

/** Whether the session is past its expiry (with a little slack for clock skew and latency). */
export function isExpired(session: Session, now = Date.now()): boolean {
  return session.expiresAt - 5_000 <= now;
}
