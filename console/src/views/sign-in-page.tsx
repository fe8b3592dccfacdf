import { useState, type FormEvent } from 'react';
import type { ApiGroup } from '../../../src/contracts/console-config';
import type { AuthProvider } from '../auth/auth-provider';
import type { CognitoAuth } from '../auth/cognito-auth';
import { LocalAuth } from '../auth/local-auth';
import type { Session } from '../auth/session';

/** Props of {@link SignInPage}. */
export interface SignInPageProps {
  readonly auth: AuthProvider;
  /** Why the person is here again (expired session, signed out). */
  readonly notice?: string | undefined;
  readonly onSignedIn: (session: Session) => void;
}

/** Sign-in: a user name and a group locally; Cognito's hosted page in the cloud. */
export function SignInPage({ auth, notice, onSignedIn }: SignInPageProps) {
  return (
    <main className="page page-narrow sign-in" id="main">
      <h1>IoT fleet console</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {auth instanceof LocalAuth ? <LocalSignInForm auth={auth} onSignedIn={onSignedIn} /> : <CognitoSignIn auth={auth as CognitoAuth} />}
    </main>
  );
}

function LocalSignInForm({ auth, onSignedIn }: { auth: LocalAuth; onSignedIn: (session: Session) => void }) {
  const [user, setUser] = useState('');
  const [group, setGroup] = useState<ApiGroup>('admin');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // ?session=SECONDS shortens the session: how a person (or a test) sees expiry without waiting an hour.
      const seconds = Number(new URLSearchParams(window.location.search).get('session')) || undefined;
      onSignedIn(await auth.signIn(user.trim(), group, seconds));
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={submit} aria-describedby="sign-in-help">
      <p id="sign-in-help" className="help">
        Local platform: choose a name and a group. The local token issuer signs your session; there is no password on this
        machine.
      </p>
      <label className="field">
        <span>User name</span>
        <input
          name="user"
          autoComplete="username"
          required
          pattern="[\w.@+\-]{1,128}"
          title="1-128 letters, digits or . @ + - _"
          value={user}
          onChange={(e) => setUser(e.target.value)}
        />
      </label>
      <fieldset className="field">
        <legend>Group</legend>
        <label className="radio">
          <input type="radio" name="group" value="admin" checked={group === 'admin'} onChange={() => setGroup('admin')} />
          admin: may change everything
        </label>
        <label className="radio">
          <input type="radio" name="group" value="viewer" checked={group === 'viewer'} onChange={() => setGroup('viewer')} />
          viewer: may only look
        </label>
      </fieldset>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function CognitoSignIn({ auth }: { auth: CognitoAuth }) {
  const [error, setError] = useState<string | undefined>();
  const go = () => {
    auth.signIn(window.location.pathname + window.location.search).catch((e: Error) => setError(e.message));
  };
  return (
    <div className="card form">
      <p className="help">Sign in with your account of this platform's user pool. You will come back to this page.</p>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="button" className="button button-primary" onClick={go}>
        Sign in
      </button>
    </div>
  );
}
