/**
 * Live updates in the cloud: AppSync's real-time protocol, spoken by AWS's own client
 * (Amplify's GraphQL API category). Loaded only when /config.json says `appsync`, so the local
 * console never downloads it. The session's token reaches Amplify through a token provider on
 * a context of this console's own (no global Amplify configuration, no Amplify sign-in): the
 * console signs in with oidc-client-ts, and Amplify only puts the token in the handshake and in
 * each subscription's start message.
 */
import { generateClient } from '@aws-amplify/api';
import { createAmplifyContext, decodeJWT, Hub } from '@aws-amplify/core';
import { graphqlHttpUrl, type ConsoleRuntimeConfig } from '../config';
import type { RealtimeTransport } from './client';

/** The Hub event Amplify dispatches on a start_ack (its CONTROL_MSG.SUBSCRIPTION_ACK, not exported). */
const SUBSCRIPTION_ACK = 'Subscription ack';

/** A document without white space and commas, which two printers lay out differently. */
function withoutLayout(document: string): string {
  return document.replace(/[\s,]+/g, '');
}

/** What Amplify's subscription observable yields and throws. */
interface AmplifyObservable {
  subscribe(observer: { next(value: unknown): void; error(error: unknown): void; complete?(): void }): { unsubscribe(): void };
}

/**
 * A realtime transport over AppSync's protocol for `token`. Amplify derives the WebSocket URL from
 * the GraphQL endpoint (appsync-api -> appsync-realtime-api, or `/realtime` after a custom
 * domain) and always uses wss://.
 */
export function appSyncTransport(config: ConsoleRuntimeConfig, token: string): RealtimeTransport {
  const context = createAmplifyContext(
    { API: { GraphQL: { endpoint: graphqlHttpUrl(config), region: config.region ?? 'us-east-1', defaultAuthMode: 'userPool' } } },
    { Auth: { tokenProvider: { getTokens: async () => ({ accessToken: decodeJWT(token) }) } } },
  );
  const client = generateClient(context);
  return {
    subscribe(request, sink, started) {
      // Amplify reports AppSync's start_ack on its Hub only, with the query as its own graphql
      // copy printed it and the variables it sent: that is how a subscription learns that it listens.
      const query = withoutLayout(request.query ?? '');
      const variables = JSON.stringify(request.variables ?? {});
      const stopListening = Hub.listen('api', ({ payload }) => {
        const data = payload.data as { query?: string; variables?: unknown } | undefined;
        if (payload.event === SUBSCRIPTION_ACK && withoutLayout(data?.query ?? '') === query && JSON.stringify(data?.variables ?? {}) === variables) started();
      });
      const observable = client.graphql({ query: request.query ?? '', variables: (request.variables ?? {}) as Record<string, unknown> }) as unknown as AmplifyObservable;
      const subscription = observable.subscribe({
        // Amplify hands over { data } like any GraphQL result; errors as { errors: [...] }.
        next: (value) => sink.next(value),
        error: (error) => sink.error(error),
        complete: () => sink.complete(),
      });
      return () => {
        stopListening();
        subscription.unsubscribe();
      };
    },
    dispose: () => {},
  };
}
