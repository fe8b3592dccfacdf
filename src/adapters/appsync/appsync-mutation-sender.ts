/**
 * Sends one IAM-signed GraphQL mutation to AppSync (or the local stand-in): what the internal
 * publishers (publishDeviceUpdate, publishAlarmUpdate) have in common. Any failure is an
 * UnavailableError, so the stream consumer that called it retries the record.
 */
import { UnavailableError } from '../../domain/errors.js';
import { createAppSyncSigner, type AwsCredentials } from './sigv4-signer.js';

/** Where and as whom a mutation is sent. */
export interface AppSyncMutationOptions {
  /** The GraphQL endpoint (APPSYNC_GRAPHQL_URL), or the local server's. */
  readonly url: string;
  readonly region: string;
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Posts SigV4-signed mutations to one endpoint. */
export class AppSyncMutationSender {
  private readonly url: URL;
  private readonly signer;
  private readonly fetchFn: typeof fetch;

  constructor(options: AppSyncMutationOptions) {
    this.url = new URL(options.url);
    this.signer = createAppSyncSigner(options.region, options.credentials);
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  /** Resolves when AppSync accepted the mutation; `name` appears in errors. */
  async send(name: string, query: string, variables: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify({ query, variables });
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port && { port: Number(this.url.port) }),
      path: this.url.pathname,
      query: {},
      headers: { host: this.url.host, 'content-type': 'application/json' },
      body,
    });
    let response: Response;
    try {
      response = await this.fetchFn(this.url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    } catch (error) {
      throw new UnavailableError(`AppSync is unreachable: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text();
    let errors: { message?: string; errorType?: string }[] | undefined;
    try {
      errors = (JSON.parse(text) as { errors?: typeof errors }).errors;
    } catch {
      throw new UnavailableError(`AppSync answered ${response.status} with a non-JSON body`);
    }
    if (!response.ok || (errors && errors.length > 0)) {
      const first = errors?.[0];
      throw new UnavailableError(`${name} failed (HTTP ${response.status}): ${first?.errorType ?? 'error'}: ${first?.message ?? text.slice(0, 200)}`);
    }
  }
}
