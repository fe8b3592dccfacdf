/**
 * What the web console and whatever serves it agree on: the runtime configuration it reads from
 * /config.json (the local server answers it; the cloud deploy writes it next to the app) and the
 * local sign-in door. No runtime libraries here: the console bundle, the local server and the CDK
 * construct all import it.
 */
export { API_GROUPS, type ApiGroup } from './groups.js';

/** Where the console reads its runtime configuration, relative to its origin. */
export const CONSOLE_CONFIG_PATH = '/config.json';

/** Path of the local server's sign-in (the stand-in for Cognito's hosted sign-in page). */
export const LOCAL_SIGN_IN_PATH = '/local/sign-in';

/** The OAuth scopes the console asks the user pool for. */
export const CONSOLE_OAUTH_SCOPES = ['openid', 'email', 'profile'] as const;

/** The console's runtime configuration (/config.json). */
export interface ConsoleRuntimeConfig {
  /** 'local': sign in at {@link LOCAL_SIGN_IN_PATH}; 'cognito': the user pool's hosted sign-in. */
  readonly auth: 'local' | 'cognito';
  /** GraphQL endpoint; a path is relative to the console's origin. */
  readonly graphqlUrl: string;
  /** 'graphql-ws' (the local server) or 'appsync' (AppSync's real-time protocol). */
  readonly realtimeProtocol: 'graphql-ws' | 'appsync';
  /** WebSocket endpoint; absent means the GraphQL URL's own path over ws(s). */
  readonly realtimeUrl?: string;
  /** AWS region of the API (AppSync real-time needs it). */
  readonly region?: string;
  readonly cognito?: {
    /** https://cognito-idp.REGION.amazonaws.com/POOL_ID (the OIDC issuer) */
    readonly authority: string;
    readonly userPoolId: string;
    readonly clientId: string;
    /** https://PREFIX.auth.REGION.amazoncognito.com (its /logout ends the hosted session) */
    readonly domain: string;
  };
}

/** The configuration the local server gives its console. */
export const LOCAL_CONSOLE_CONFIG: ConsoleRuntimeConfig = { auth: 'local', graphqlUrl: '/graphql', realtimeProtocol: 'graphql-ws' };
