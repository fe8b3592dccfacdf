/**
 * Sends one IAM-signed GraphQL mutation to AppSync (or the local stand-in) over the keep-alive
 * transport: what the internal publishers (publishDeviceUpdate, publishAlarmUpdate) have in
 * common. Any failure is an UnavailableError, so the stream consumer that called it retries.
 */
import { UnavailableError } from '../../domain/errors.js';
import { keepAlivePost, type Post, type PostResponse } from './keep-alive-post.js';
import { createRequestSigner, type RequestSigner } from '../aws/lean/request-signer.js';
import type { AwsCredentials } from './sigv4-signer.js';

/** Where and as whom a mutation is sent. */
export interface AppSyncMutationOptions {
  /** The GraphQL endpoint (APPSYNC_GRAPHQL_URL), or the local server's. */
  readonly url: string;
  readonly region: string;
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  /** @default keepAlivePost() */
  readonly post?: Post;
}

/** Posts SigV4-signed mutations to one endpoint. */
export class AppSyncMutationSender {
  private readonly url: URL;
  private readonly signer: RequestSigner;
  private readonly post: Post;

  constructor(options: AppSyncMutationOptions) {
    this.url = new URL(options.url);
    this.signer = createRequestSigner('appsync', options.region, options.credentials);
    this.post = options.post ?? keepAlivePost();
  }

  /** Resolves when AppSync accepted the mutation; `name` appears in errors. */
  async send(name: string, query: string, variables: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify({ query, variables });
    const headers = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port && { port: Number(this.url.port) }),
      path: this.url.pathname,
      query: {},
      headers: { host: this.url.host, 'content-type': 'application/json' },
      body,
    });
    let response: PostResponse;
    try {
      response = await this.post(this.url, headers, body);
    } catch (error) {
      throw new UnavailableError(`AppSync is unreachable: ${(error as Error).message}`, { cause: error });
    }
    const { status, text } = response;
    let errors: { message?: string; errorType?: string }[] | undefined;
    try {
      errors = (JSON.parse(text) as { errors?: typeof errors }).errors;
    } catch {
      throw new UnavailableError(`AppSync answered ${status} with a non-JSON body`);
    }
    if (status < 200 || status > 299 || (errors && errors.length > 0)) {
      const first = errors?.[0];
      throw new UnavailableError(`${name} failed (HTTP ${status}): ${first?.errorType ?? 'error'}: ${first?.message ?? text.slice(0, 200)}`);
    }
  }
}
