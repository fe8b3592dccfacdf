import { UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import { CONSOLE_OAUTH_SCOPES, type ConsoleRuntimeConfig } from '../../../src/contracts/console-config';
import type { AuthProvider } from './auth-provider';
import { sessionFromToken, type Session } from './session';

interface ReturnState {
  readonly returnTo?: string;
}

/**
 * Cognito's hosted sign-in with the authorization code flow and PKCE, by oidc-client-ts (which
 * makes the verifier, checks state and nonce, and renews with the refresh token). The redirect
 * and sign-out URIs are the console's own origin: the ones the stack registers on the app client.
 */
export class CognitoAuth implements AuthProvider {
  readonly kind = 'cognito' as const;
  private readonly manager: UserManager;

  constructor(private readonly cognito: NonNullable<ConsoleRuntimeConfig['cognito']>) {
    const origin = window.location.origin;
    this.manager = new UserManager({
      authority: cognito.authority,
      client_id: cognito.clientId,
      redirect_uri: `${origin}/`,
      post_logout_redirect_uri: `${origin}/`,
      response_type: 'code',
      scope: CONSOLE_OAUTH_SCOPES.join(' '),
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
      automaticSilentRenew: true,
    });
  }

  private static sessionOf(user: User | null): Session | undefined {
    // The ID token carries cognito:groups, which the console shows and AppSync checks.
    if (!user || user.expired || !user.id_token) return undefined;
    return sessionFromToken(user.id_token);
  }

  async restore(): Promise<{ session?: Session; returnTo?: string }> {
    const params = new URLSearchParams(window.location.search);
    if (params.has('code') && params.has('state')) {
      const user = await this.manager.signinRedirectCallback();
      const session = CognitoAuth.sessionOf(user);
      const returnTo = (user.state as ReturnState | undefined)?.returnTo ?? '/';
      return { ...(session && { session }), returnTo };
    }
    return { ...(await this.manager.getUser().then((user) => ({ session: CognitoAuth.sessionOf(user) }))) };
  }

  /** Goes to the hosted sign-in page; after it, the console returns to `returnTo`. */
  async signIn(returnTo: string): Promise<void> {
    await this.manager.signinRedirect({ state: { returnTo } satisfies ReturnState });
  }

  async signOut(): Promise<void> {
    await this.manager.removeUser();
    // Cognito ends its hosted session at /logout (it has no OIDC end_session_endpoint).
    const url = new URL('/logout', this.cognito.domain);
    url.searchParams.set('client_id', this.cognito.clientId);
    url.searchParams.set('logout_uri', `${window.location.origin}/`);
    window.location.assign(url.toString());
  }

  async forget(): Promise<void> {
    await this.manager.removeUser();
  }
}
