import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { Provider } from 'urql';
import { Link, Route, Router, Switch, useLocation } from 'wouter';
import { createApiClient, type RealtimeTransport } from './api/client';
import { LiveStatusContext } from './api/live-status';
import type { AuthProvider } from './auth/auth-provider';
import { isExpired, type Session } from './auth/session';
import type { ConsoleRuntimeConfig } from './config';
import { SessionContext, sessionContextValue, useSession } from './session-context';
import { CreateDevicePage } from './views/create-device-page';
import { DeviceDetailPage } from './views/device-detail-page';
import { DeviceListPage } from './views/device-list-page';
import { OverviewPage } from './views/overview-page';
import { SignInPage } from './views/sign-in-page';
import { EmptyState, LoadingState } from './components/states';

// Pages most visits never open are fetched when first opened, keeping the first load small.
const AlarmsPage = lazy(() => import('./views/alarms-page'));
const AlarmRulesPage = lazy(() => import('./views/alarm-rules-page'));

function LazyPage({ children }: { children: React.ReactNode }) {
  return (
    <Suspense
      fallback={
        <main className="page" id="main">
          <LoadingState label="Loading the page" rows={4} />
        </main>
      }
    >
      {children}
    </Suspense>
  );
}

/** Props of {@link ConsoleApp}. */
export interface ConsoleAppProps {
  readonly config: ConsoleRuntimeConfig;
  readonly auth: AuthProvider;
  /** Subscriptions over AppSync's real-time protocol; without it a cloud console has no live updates. */
  readonly appSyncTransport?: (token: string) => RealtimeTransport;
  /** Where routing starts (tests); the browser's location otherwise. */
  readonly ssrPath?: string;
}

const EXPIRED_NOTICE = 'Your session expired. Sign in again to continue where you were.';

/**
 * The console: a sign-in gate, then the views. An expired or refused session drops back to the
 * sign-in form in place, at the same URL, so signing in again returns to the same page.
 */
export function ConsoleApp({ config, auth, appSyncTransport, ssrPath }: ConsoleAppProps) {
  const [session, setSession] = useState<Session | undefined>();
  const [restoring, setRestoring] = useState(true);
  const [notice, setNotice] = useState<string | undefined>();

  useEffect(() => {
    let live = true;
    auth.restore().then(
      ({ session: restored, returnTo }) => {
        if (!live) return;
        if (returnTo) window.history.replaceState(null, '', returnTo);
        setSession(restored);
        setRestoring(false);
      },
      (error: Error) => {
        if (!live) return;
        setNotice(`Sign-in did not complete: ${error.message}`);
        setRestoring(false);
      },
    );
    return () => {
      live = false;
    };
  }, [auth]);

  const expire = useCallback(() => {
    void auth.forget();
    setSession(undefined);
    setNotice(EXPIRED_NOTICE);
  }, [auth]);

  // The session ends on its own at its expiry, even on a page that makes no request.
  useEffect(() => {
    if (!session) return;
    if (isExpired(session)) return expire();
    const timer = setTimeout(expire, Math.min(session.expiresAt - 5_000 - Date.now(), 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [session, expire]);

  const api = useMemo(
    () =>
      session &&
      createApiClient({
        config,
        token: session.token,
        onSessionRejected: expire,
        ...(appSyncTransport && { appSyncTransport: appSyncTransport(session.token) }),
      }),
    [config, session, expire, appSyncTransport],
  );
  useEffect(() => () => api?.dispose(), [api]);

  const signOut = useCallback(() => {
    setNotice('You signed out.');
    setSession(undefined);
    void auth.signOut();
  }, [auth]);

  const context = useMemo(() => session && sessionContextValue(config, auth, session, signOut), [config, auth, session, signOut]);

  const routerProps = ssrPath ? { ssrPath } : {};
  if (restoring) {
    return (
      <main className="page page-narrow">
        <LoadingState label="Restoring your session" />
      </main>
    );
  }
  if (!session || !api || !context) {
    return (
      <SignInPage
        auth={auth}
        notice={notice}
        onSignedIn={(signedIn) => {
          setNotice(undefined);
          setSession(signedIn);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={context}>
      <Provider value={api.client}>
        <LiveStatusContext.Provider value={api.live}>
        <Router {...routerProps}>
          <Shell>
            <Switch>
              <Route path="/" component={OverviewPage} />
              <Route path="/devices" component={DeviceListPage} />
              <Route path="/devices/new" component={CreateDevicePage} />
              <Route path="/devices/:id">{(params) => <DeviceDetailPage id={params.id} />}</Route>
              <Route path="/alarms">
                <LazyPage>
                  <AlarmsPage />
                </LazyPage>
              </Route>
              <Route path="/alarms/rules">
                <LazyPage>
                  <AlarmRulesPage />
                </LazyPage>
              </Route>
              <Route>
                <main className="page" id="main">
                  <EmptyState title="There is no such page">
                    <p>
                      <Link href="/">Go to the fleet overview</Link>
                    </p>
                  </EmptyState>
                </main>
              </Route>
            </Switch>
          </Shell>
        </Router>
        </LiveStatusContext.Provider>
      </Provider>
    </SessionContext.Provider>
  );
}

function NavLink({ href, children }: { href: string; children: string }) {
  const [location] = useLocation();
  const current = href === '/' ? location === '/' : location === href;
  return (
    <Link href={href} className={current ? 'nav-link current' : 'nav-link'} aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function Shell({ children }: { children: React.ReactNode }) {
  const { session, admin, signOut } = useSession();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top-bar">
        <span className="brand">IoT fleet</span>
        <nav aria-label="Main" className="nav">
          <NavLink href="/">Overview</NavLink>
          <NavLink href="/devices">Devices</NavLink>
          <NavLink href="/alarms">Alarms</NavLink>
          {admin && <NavLink href="/devices/new">Create device</NavLink>}
        </nav>
        <div className="who">
          <span className="who-name" title={`Signed in as ${session.user}`}>
            {session.user}
          </span>
          <span className={`badge badge-${admin ? 'admin' : 'viewer'}`}>{admin ? 'admin' : 'viewer'}</span>
          <button type="button" className="button button-quiet" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {children}
    </>
  );
}
