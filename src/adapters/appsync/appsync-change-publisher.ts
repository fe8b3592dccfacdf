import type { DeviceChange } from '../../domain/device-change.js';
import { toDeviceChangeInput } from '../../graphql/device-mapper.js';
import type { ChangePublisher } from '../../ports/change-feed.js';
import { AppSyncMutationSender, type AppSyncMutationOptions } from './appsync-mutation-sender.js';
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
export type AppSyncChangePublisherOptions = AppSyncMutationOptions;

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
