import type { DeviceChange } from '../../domain/device-change.js';
import { toDeviceChangeInput, toTelemetryUpdateInput } from '../../wire/graphql-device.js';
import { chunks } from '../../change-feed/chunks.js';
import { TELEMETRY_BATCH_MAX_CHANGES } from '../../contracts/live-updates.js';
import type { ChangePublisher } from '../../ports/change-feed.js';
import { AppSyncMutationSender } from './appsync-mutation-sender.js';
import type { Post } from './keep-alive-post.js';
import type { AwsCredentials } from './sigv4-signer.js';

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
        id name type status createdAt updatedAt lastSeen version twinVersion
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
  private readonly sender: AppSyncMutationSender;

  constructor(options: AppSyncChangePublisherOptions) {
    this.sender = new AppSyncMutationSender(options);
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

  private send(mutation: string, query: string, variables: Record<string, unknown>): Promise<void> {
    return this.sender.send(mutation, query, variables);
  }
}
