import type { DeviceChange } from '../../domain/device-change.js';
import { UnavailableError } from '../../domain/errors.js';
import { toDeviceChangeInput, toTelemetryUpdateInput } from '../../graphql/device-mapper.js';
import { chunks } from '../../change-feed/chunks.js';
import { TELEMETRY_BATCH_MAX_CHANGES } from '../../contracts/live-updates.js';
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
      sequence
      device {
        id name type status createdAt updatedAt lastSeen version
        metadata { key value }
        readings { metric numberValue booleanValue stringValue }
      }
    }
  }
`;

/** The IAM-only mutation that fans a batch of telemetry-only changes out to telemetryUpdated subscribers. */
export const PUBLISH_TELEMETRY_BATCH = /* GraphQL */ `
  mutation PublishTelemetryBatch($input: TelemetryBatchInput!) {
    publishTelemetryBatch(input: $input) {
      items { id sequence lastSeen readings }
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
 * Publishes registry changes to AppSync subscribers by calling publishDeviceUpdate (and
 * telemetry batches with publishTelemetryBatch) with a SigV4-signed POST. A failure throws UnavailableError so the change feed retries the record.
 */
export class AppSyncChangePublisher implements ChangePublisher {
  private readonly url: URL;
  private readonly signer;
  private readonly fetchFn: typeof fetch;

  constructor(options: AppSyncChangePublisherOptions) {
    this.url = new URL(options.url);
    this.signer = createAppSyncSigner(options.region, options.credentials);
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  /** Sends one change; resolves when AppSync accepted it. */
  async publish(change: DeviceChange): Promise<void> {
    await this.post('publishDeviceUpdate', PUBLISH_DEVICE_UPDATE, { input: toDeviceChangeInput(change) });
  }

  /**
   * Sends telemetry-only changes to telemetryUpdated subscribers in one mutation per
   * TELEMETRY_BATCH_MAX_CHANGES, in their compact form. A batch reaches every all-devices
   * subscriber whole, so it never goes to a single-device subscription (it would carry other
   * devices' data): the changes of watched devices also go one by one to deviceUpdated(id).
   */
  async publishTelemetryBatch(changes: readonly DeviceChange[]): Promise<void> {
    for (const slice of chunks(changes, TELEMETRY_BATCH_MAX_CHANGES)) {
      await this.post('publishTelemetryBatch', PUBLISH_TELEMETRY_BATCH, { input: { items: slice.map(toTelemetryUpdateInput) } });
    }
    for (const change of changes) if (change.watched) await this.publish(change);
  }

  private async post(mutation: string, query: string, variables: Record<string, unknown>): Promise<void> {
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
        `${mutation} failed (HTTP ${response.status}): ${first?.errorType ?? 'error'}: ${first?.message ?? text.slice(0, 200)}`,
      );
    }
  }
}
