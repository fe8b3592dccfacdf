/**
 * The CLI's client of the GraphQL door: the local server (`iotctl local`, an admin token minted
 * from its data directory) or AppSync (`--token` with a Cognito token). Commands to devices
 * need the door that publishes to the broker, so the CLI never writes the tables itself here.
 */
import { resolve } from 'node:path';
import { LocalTokenIssuer } from '../local/appsync/local-token-issuer.js';

/** Where and how the CLI reaches GraphQL. */
export interface GraphqlTarget {
  readonly url: string;
  /** A token; when absent one is minted for `user` (admin) from the local platform's data directory. */
  readonly token?: string;
  readonly dataDir: string;
  readonly user: string;
}

/** Default GraphQL endpoint of `iotctl local`. */
export const DEFAULT_GRAPHQL_URL = process.env.IOT_GRAPHQL_URL ?? 'http://127.0.0.1:4000/graphql';

/** An error the API answered with (its errorType, e.g. Conflict, and message). */
export class ApiError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(`${errorType}: ${message}`);
    this.name = 'ApiError';
  }
}

/** A function running one GraphQL operation against `target`; throws ApiError on an API error. */
export async function graphqlClient(target: GraphqlTarget): Promise<<T>(query: string, variables: Record<string, unknown>) => Promise<T>> {
  const token = target.token ?? (await (await LocalTokenIssuer.fromDataDir(resolve(target.dataDir))).issue({ user: target.user, groups: ['admin'], expiresIn: '5m' }));
  return async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: token },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new Error(`cannot reach ${target.url}: start the platform with \`iotctl local\` or pass --url (${(error as Error).message})`);
    }
    const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: { errorType?: string; message: string }[] };
    const first = body.errors?.[0];
    if (first) throw new ApiError(first.errorType ?? 'Error', first.message);
    if (!response.ok || !body.data) throw new Error(`${target.url} answered HTTP ${response.status}`);
    return body.data;
  };
}
