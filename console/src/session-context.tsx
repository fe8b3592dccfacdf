import { createContext, useContext } from 'react';
import type { AuthProvider } from './auth/auth-provider';
import { isAdmin, type Session } from './auth/session';
import type { ConsoleRuntimeConfig } from './config';

/** Who is signed in, and how to end it. */
export interface SessionContextValue {
  readonly config: ConsoleRuntimeConfig;
  readonly auth: AuthProvider;
  readonly session: Session;
  readonly admin: boolean;
  signOut(): void;
}

export const SessionContext = createContext<SessionContextValue | undefined>(undefined);

/** The signed-in session; only used below the sign-in gate. */
export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a signed-in console');
  return value;
}

/** A context value for `session`. */
export function sessionContextValue(config: ConsoleRuntimeConfig, auth: AuthProvider, session: Session, signOut: () => void): SessionContextValue {
  return { config, auth, session, admin: isAdmin(session), signOut };
}
