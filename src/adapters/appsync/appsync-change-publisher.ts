import type { DeviceChange } from '../../domain/device-change.js';
import { UnavailableError } from '../../domain/errors.js';
import { toDeviceChangeInput, toTelemetryUpdateInput } from '../../wire/graphql-device.js';
import { chunks } from '../../change-feed/chunks.js';
import { TELEMETRY_BATCH_MAX_CHANGES } from '../../contracts/live-updates.js';
import type { ChangePublisher } from '../../ports/change-feed.js';
import { keepAlivePost, type Post, type PostResponse } from './keep-alive-post.js';
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
  /** @default keepAlivePost() */
  readonly post?: Post;
}

/**
 * Publishes registry changes to AppSync subscribers by calling publishDeviceUpdate (and
 * telemetry batches with publishTelemetryBatch) with a SigV4-signed POST. A failure throws UnavailableError so the change feed retries the record.
 */
export class AppSyncChangePublisher implements ChangePublisher {
  private readonly url: URL;
  private readonly signer;
  private readonly post: Post;

  constructor(options: AppSyncChangePublisherOptions) {
    this.url = new URL(options.url);
    this.signer = createAppSyncSigner(options.region, options.credentials);
    this.post = options.post ?? keepAlivePost();
  }

  /** Sends one change; resolves when AppSync accepted it. */
  async publish(change: DeviceChange): Promise<void> {
    await this.send('publishDeviceUpdate', PUBLISH_DEVICE_UPDATE, { input: toDeviceChangeInput(change) });
  }

  /**
   * Sends telemetry-only changes to telemetryUpdated subscribers in one mutation per
   * TELEMETRY_BATCH_MAX_CHANGES, in their compact form. A batch reaches every all-devices
   * subscriber whole, so it never goes to a single-device subscription (it would carry other
   * devices' data): the changes of watched devices also go one by one to deviceUpdated(id).
   */
  async publishTelemetryBatch(changes: readonly DeviceChange[]): Promise<void> {
    for (const slice of chunks(changes, TELEMETRY_BATCH_MAX_CHANGES)) {
      await this.send('publishTelemetryBatch', PUBLISH_TELEMETRY_BATCH, { input: { items: slice.map(toTelemetryUpdateInput) } });
    }
    for (const change of changes) if (change.watched) await this.publish(change);
  }

  private async send(mutation: string, query: string, variables: Record<string, unknown>): Promise<void> {
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
    let response: PostResponse;
    try {
      response = await this.post(this.url, signed.headers as Record<string, string>, body);
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
      throw new UnavailableError(
        `${mutation} failed (HTTP ${status}): ${first?.errorType ?? 'error'}: ${first?.message ?? text.slice(0, 200)}`,
      );
    }
  }
}
