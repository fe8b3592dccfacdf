import { LOCAL_SIGN_IN_PATH, type ApiGroup } from '../../../src/contracts/console-config';
import type { AuthProvider } from './auth-provider';
import { isExpired, sessionFromToken, type Session } from './session';

const STORAGE_KEY = 'iot-console.local-session';

/** A refused local sign-in, with the server's error type. */
export class SignInError extends Error {
  override readonly name = 'SignInError';
  constructor(
    message: string,
    readonly errorType: string,
  ) {
    super(message);
  }
}

/**
 * Local sign-in: the local server's issuer signs a token for a user name and a group. The token
 * lives in sessionStorage, so it survives a reload but not the tab.
 */
export class LocalAuth implements AuthProvider {
  readonly kind = 'local' as const;

  constructor(private readonly storage: Storage = window.sessionStorage) {}

  async restore(): Promise<{ session?: Session }> {
    const token = this.storage.getItem(STORAGE_KEY);
    if (!token) return {};
    try {
      const session = sessionFromToken(token);
      if (!isExpired(session)) return { session };
    } catch {
      // A damaged entry is the same as none.
    }
    this.storage.removeItem(STORAGE_KEY);
    return {};
  }

  /** Signs in as `user` in `group`; `expiresInSeconds` shortens the session (tests of expiry). */
  async signIn(user: string, group: ApiGroup, expiresInSeconds?: number): Promise<Session> {
    let response: Response;
    try {
      response = await fetch(LOCAL_SIGN_IN_PATH, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user, group, ...(expiresInSeconds !== undefined && { expiresInSeconds }) }),
      });
    } catch {
      throw new SignInError('The local server cannot be reached. Is `npm start` still running?', 'NetworkError');
    }
    const body = (await response.json().catch(() => ({}))) as { token?: string; errors?: { errorType: string; message: string }[] };
    if (!response.ok || !body.token) {
      const error = body.errors?.[0];
      throw new SignInError(error?.message ?? `Sign-in failed (HTTP ${response.status})`, error?.errorType ?? 'Unknown');
    }
    this.storage.setItem(STORAGE_KEY, body.token);
    return sessionFromToken(body.token);
  }

  async signOut(): Promise<void> {
    this.storage.removeItem(STORAGE_KEY);
  }

  async forget(): Promise<void> {
    this.storage.removeItem(STORAGE_KEY);
  }
}
