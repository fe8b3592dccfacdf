/** The console as the component tests render it: ConsoleApp against the global setup's local GraphQL server. */
import { cleanup, render } from '@testing-library/react';
import { afterEach, inject } from 'vitest';
import { ConsoleApp } from '../../../console/src/app';
import { sessionFromToken } from '../../../console/src/auth/session';
import type { ConsoleRuntimeConfig } from '../../../src/contracts/console-config';
import { InMemoryAuth } from './in-memory-auth';
import './provided-context';

/** The runtime configuration of a console on the local server (graphql-ws live updates). */
export function localConsoleConfig(): ConsoleRuntimeConfig {
  const api = inject('consoleApi');
  return { auth: 'local', graphqlUrl: api.graphqlUrl, realtimeProtocol: 'graphql-ws', realtimeUrl: api.realtimeUrl };
}

/** Renders the console at `path` signed in with `token`; returns its AuthProvider. */
export function renderConsoleAs(token: string, path = '/'): InMemoryAuth {
  window.history.replaceState(null, '', path);
  const auth = new InMemoryAuth(sessionFromToken(token));
  render(<ConsoleApp config={localConsoleConfig()} auth={auth} />);
  return auth;
}

/** Unmounts what a test rendered and returns the URL to `/` after each test. */
export function cleanUpAfterEach(): void {
  afterEach(() => {
    cleanup();
    window.history.replaceState(null, '', '/');
  });
}
