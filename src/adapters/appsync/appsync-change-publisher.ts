import type { DeviceChange } from '../../domain/device-change.js';
import { toDeviceChangeInput } from '../../wire/graphql-device.js';
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
      device {
        id name type status createdAt updatedAt lastSeen version
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
  /** @default keepAlivePost() */
  readonly post?: Post;
}

/**
 * Publishes registry changes to AppSync subscribers by calling publishDeviceUpdate with a
 * SigV4-signed POST. A failure throws UnavailableError so the change feed retries the record.
 */
export class AppSyncChangePublisher implements ChangePublisher {
  private readonly sender: AppSyncMutationSender;

  constructor(options: AppSyncChangePublisherOptions) {
    this.sender = new AppSyncMutationSender(options);
  }

  /** Sends one change; resolves when AppSync accepted it. */
  async publish(change: DeviceChange): Promise<void> {
    await this.sender.send('publishDeviceUpdate', PUBLISH_DEVICE_UPDATE, { input: toDeviceChangeInput(change) });
  }
}
