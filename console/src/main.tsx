import { createRoot } from 'react-dom/client';
import { ConsoleApp } from './app';
import { LocalAuth } from './auth/local-auth';
import type { AuthProvider } from './auth/auth-provider';
import { ConfigError, loadConfig } from './config';
import { ErrorState } from './components/states';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

async function start(): Promise<void> {
  const config = await loadConfig();
  // Cognito's OIDC client is loaded only where it is used, so the local console never ships it.
  const auth: AuthProvider =
    config.auth === 'cognito' ? new (await import('./auth/cognito-auth')).CognitoAuth(config.cognito!) : new LocalAuth();
  // AppSync's real-time client likewise: only a cloud console speaks that protocol.
  const appSync = config.realtimeProtocol === 'appsync' ? (await import('./api/appsync-transport')).appSyncTransport : undefined;
  root.render(<ConsoleApp config={config} auth={auth} {...(appSync && { appSyncTransport: (token: string) => appSync(config, token) })} />);
}

start().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `The console could not start: ${(error as Error).message}`;
  root.render(
    <main className="page page-narrow">
      <ErrorState title="The console could not start" message={message} onRetry={() => window.location.reload()} />
    </main>,
  );
});
