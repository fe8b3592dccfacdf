import type { Session } from './session';

/** How people sign in and out: the local issuer or Cognito's hosted sign-in. */
export interface AuthProvider {
  readonly kind: 'local' | 'cognito';
  /** The session kept from before a reload, or completed from a sign-in redirect. */
  restore(): Promise<{ session?: Session; returnTo?: string }>;
  /** Ends the session here (and at the identity provider, which may navigate away). */
  signOut(): Promise<void>;
  /** Forgets an expired session without navigating. */
  forget(): Promise<void>;
}
