import type { DeviceChange } from '../../domain/device-change.js';
import { UnavailableError } from '../../domain/errors.js';
import { toDeviceChangeInput } from '../../graphql/device-mapper.js';
import type { ChangePublisher } from '../../ports/change-feed.js';
import { createAppSyncSigner, type AwsCredentials } from './sigv4-signer.js';

/**
 * The IAM-only mutation that fans a change out to deviceUpdated subscribers. AppSync only
 * delivers the fields a mutation selects, so it selects everything a subscriber may ask for.
 */
export const PUBLISH_DEVICE_UPDATE = /* GraphQL */ `
  mutation PublishDeviceUpdate($input: DeviceChangeInput!) {
    publishDeviceUpdate(input: $input) {
      id
      changeType
      changedAt
      device {
        id name type status createdAt updatedAt lastSeen version twinVersion
        metadata { key value }
        readings { metric numberValue booleanValue stringValue }
      }
    }
  }
`;

/** Options for {@link AppSyncChangePublisher}. */
export interface AppSyncChangePublisherOptions {
  /** The GraphQL endpoint (APPSYNC_GRAPHQL_URL), or the local server's. */
  readonly url: string;
  readonly region: string;
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Credentials of the running Lambda, read from its environment; fails naming the missing variable. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): () => Promise<AwsCredentials> {
  return async () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId) throw new Error('AWS_ACCESS_KEY_ID is not set');
    if (!secretAccessKey) throw new Error('AWS_SECRET_ACCESS_KEY is not set');
    return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }) };
  };
}

/** The Lambda's region (AWS_REGION, always set by Lambda); fails naming the variable. */
export function requiredRegion(env: NodeJS.ProcessEnv = process.env): string {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  return region;
}

/**
 * Calls one IAM-only AppSync mutation with a SigV4-signed POST, as the change feed's
 * publishers do. A failure throws UnavailableError so the change feed retries the record.
 */
export class AppSyncMutationSender {
  private readonly url: URL;
  private readonly signer;
  private readonly fetchFn: typeof fetch;

  constructor(options: AppSyncChangePublisherOptions) {
    this.url = new URL(options.url);
    this.signer = createAppSyncSigner(options.region, options.credentials);
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  /** Sends `query` with `variables`; resolves when AppSync accepted it. `field` names the mutation in errors. */
  async send(field: string, query: string, variables: Record<string, unknown>): Promise<void> {
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
      throw new UnavailableError(
        `${field} failed (HTTP ${response.status}): ${first?.errorType ?? 'error'}: ${first?.message ?? text.slice(0, 200)}`,
      );
    }
  }
}

/** Publishes registry changes to AppSync subscribers through publishDeviceUpdate. */
export class AppSyncChangePublisher implements ChangePublisher {
  private readonly sender: AppSyncMutationSender;

  constructor(options: AppSyncChangePublisherOptions) {
    this.sender = new AppSyncMutationSender(options);
  }

  /** Sends one change; resolves when AppSync accepted it. */
  publish(change: DeviceChange): Promise<void> {
    return this.sender.send('publishDeviceUpdate', PUBLISH_DEVICE_UPDATE, { input: toDeviceChangeInput(change) });
  }
}
