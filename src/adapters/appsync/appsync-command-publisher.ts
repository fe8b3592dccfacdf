import type { CommandChange, CommandChangePublisher } from '../../commands/command-change.js';
import { toCommandUpdateInput } from '../../graphql/command-mapper.js';
import { AppSyncMutationSender, type AppSyncMutationOptions } from './appsync-mutation-sender.js';

/**
 * The IAM-only mutation that fans a command transition out to commandUpdated subscribers; it
 * selects every field a subscriber may ask for, since AppSync delivers only those.
 */
export const PUBLISH_COMMAND_UPDATE = /* GraphQL */ `
  mutation PublishCommandUpdate($input: CommandUpdateInput!) {
    publishCommandUpdate(input: $input) {
      id deviceId status previousStatus changedAt sequence
      command {
        id deviceId name payload clientToken timeoutSeconds expiresAt status statusReason result
        createdBy createdAt sentAt completedAt lateAnswer
      }
    }
  }
`;

/** Publishes command transitions to AppSync subscribers through publishCommandUpdate. */
export class AppSyncCommandPublisher implements CommandChangePublisher {
  private readonly sender: AppSyncMutationSender;

  constructor(options: AppSyncMutationOptions) {
    this.sender = new AppSyncMutationSender(options);
  }

  /** Sends one transition; resolves when AppSync accepted it. */
  publish(change: CommandChange): Promise<void> {
    return this.sender.send('publishCommandUpdate', PUBLISH_COMMAND_UPDATE, { input: toCommandUpdateInput(change) });
  }
}
