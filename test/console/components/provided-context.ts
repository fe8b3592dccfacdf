/** What the console's component tests receive from their global setup (`inject('consoleApi')`). */
export interface ConsoleApiFixture {
  readonly graphqlUrl: string;
  readonly realtimeUrl: string;
  readonly adminToken: string;
  readonly viewerToken: string;
  readonly expiredToken: string;
  /** "Component probe", type probe, metadata site=lab. */
  readonly deviceId: string;
  /** What the platform's change feed signs its publish mutations with: a test replays a transition with it. */
  readonly iamCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    consoleApi: ConsoleApiFixture;
  }
}
