import type { AuthProvider } from '../../../console/src/auth/auth-provider';
import type { Session } from '../../../console/src/auth/session';

/** The AuthProvider port held in memory: a fixed session, sign-out recorded. */
export class InMemoryAuth implements AuthProvider {
  readonly kind = 'local' as const;
  signedOut = 0;
  constructor(private session: Session | undefined) {}
  async restore() {
    return this.session ? { session: this.session } : {};
  }
  async signOut() {
    this.signedOut += 1;
    this.session = undefined;
  }
  async forget() {
    this.session = undefined;
  }
}
