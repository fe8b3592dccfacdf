import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange, type SubscriptionOperation } from 'urql';
import { graphqlHttpUrl, realtimeWsUrl, type ConsoleRuntimeConfig } from '../config';
import { SUBSCRIPTION_STARTED_FIELD } from '../../../src/contracts/live-updates';
import { isSessionRejected } from './errors';
import { createLiveStatus, type LiveStatus } from './live-status';

/**
 * What a realtime transport must do: forward one subscription to a sink until unsubscribed, and
 * call `started` each time the server confirms that it listens (again after a reconnect).
 */
export interface RealtimeTransport {
  subscribe(request: SubscriptionOperation, sink: { next(value: unknown): void; error(error: unknown): void; complete(): void }, started: () => void): () => void;
  dispose(): void;
}

/** Options of {@link createApiClient}. */
export interface ApiClientOptions {
  readonly config: ConsoleRuntimeConfig;
  readonly token: string;
  /** Called when the API refuses the session (expired or revoked token). */
  readonly onSessionRejected: () => void;
  /** Subscriptions over AppSync's real-time protocol; the graphql-ws client is built in. */
  readonly appSyncTransport?: RealtimeTransport;
}

/** A graphql-ws transport: the local server's WebSocket protocol, the token in connectionParams. */
export function graphqlWsTransport(url: string, token: string, onSessionRejected: () => void): RealtimeTransport {
  // graphql-ws keeps an operation's id across reconnects; the local server pings it back once
  // the subscription listens, the way AppSync answers start with start_ack.
  let ids = 0;
  let nextId = '';
  const started = new Map<string, () => void>();
  const ws: WsClient = createWsClient({
    url,
    lazy: true,
    generateID: () => nextId,
    on: {
      ping: (received, payload) => {
        const id = received ? (payload as Record<string, unknown> | undefined)?.[SUBSCRIPTION_STARTED_FIELD] : undefined;
        if (typeof id === 'string') started.get(id)?.();
      },
    },
    connectionParams: () => ({ Authorization: token }),
    // Reconnect through restarts of the server; a refused token (close 4403) ends the session.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => {
      const code = (event as CloseEvent | undefined)?.code;
      if (code === 4403 || code === 4401) {
        onSessionRejected();
        return false;
      }
      return true;
    },
  });
  return {
    subscribe: (request, sink, onStarted) => {
      const id = `s${++ids}`;
      started.set(id, onStarted);
      nextId = id;
      const unsubscribe = ws.subscribe({ query: request.query ?? '', variables: request.variables ?? {} }, {
        next: (value) => sink.next(value),
        error: (error) => sink.error(error),
        complete: () => sink.complete(),
      });
      return () => {
        started.delete(id);
        unsubscribe();
      };
    },
    // graphql-ws's dispose awaits the last connection attempt, so after a refused token (4403) it
    // rejects with that close event: the socket is already closed, and the refusal was handled above.
    dispose: () => void Promise.resolve(ws.dispose()).catch(() => undefined),
  };
}

/** A transport that refuses every subscription with `reason`: the views load, without live updates. */
export function unavailableTransport(reason: string): RealtimeTransport {
  return {
    subscribe: (_request, sink) => {
      sink.error(new Error(reason));
      return () => {};
    },
    dispose: () => {},
  };
}

/**
 * The console's GraphQL client (urql): queries and mutations over HTTP with the session's token,
 * subscriptions over graphql-ws (local) or AppSync's real-time protocol (cloud), and one place
 * that notices a refused session.
 */
export function createApiClient(options: ApiClientOptions): { client: Client; live: LiveStatus; dispose(): void } {
  const { config, token, onSessionRejected } = options;
  const transport =
    config.realtimeProtocol === 'graphql-ws'
      ? graphqlWsTransport(realtimeWsUrl(config), token, onSessionRejected)
      : (options.appSyncTransport ?? unavailableTransport('Live updates need AppSync’s real-time protocol, which this console does not speak yet'));
  const live = createLiveStatus();
  const client = new Client({
    url: graphqlHttpUrl(config),
    // AppSync (and its local stand-in) take POST only.
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { Authorization: token } }),
    exchanges: [
      cacheExchange,
      mapExchange({
        onError(error) {
          if (isSessionRejected(error)) onSessionRejected();
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request, operation) => ({
          subscribe: (sink) => {
            const unsubscribe = transport.subscribe(request, sink as never, () => live.started(operation.key));
            return {
              unsubscribe: () => {
                live.stopped(operation.key);
                unsubscribe();
              },
            };
          },
        }),
      }),
    ],
  });
  return { client, live, dispose: () => transport.dispose() };
}
