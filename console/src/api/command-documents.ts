import type { Command, CommandConnection, CommandUpdate } from '../../../src/generated/graphql/types';

export type { Command };

const COMMAND_FIELDS = 'id deviceId name payload timeoutSeconds expiresAt status statusReason result createdBy createdAt sentAt completedAt lateAnswer';

export const COMMANDS_QUERY = `query Commands($deviceId: ID!, $limit: Int, $nextToken: String) {
  commands(deviceId: $deviceId, limit: $limit, nextToken: $nextToken) { items { ${COMMAND_FIELDS} } nextToken }
}`;
export interface CommandsResult {
  commands: CommandConnection;
}

export const SEND_COMMAND = `mutation SendCommand($input: SendCommandInput!) { sendCommand(input: $input) { ${COMMAND_FIELDS} } }`;
export interface SendCommandResult {
  sendCommand: Command;
}

export const CANCEL_COMMAND = `mutation CancelCommand($id: ID!) { cancelCommand(id: $id) { ${COMMAND_FIELDS} } }`;
export interface CancelCommandResult {
  cancelCommand: Command;
}

export const COMMAND_UPDATED = `subscription CommandUpdated($deviceId: ID) { commandUpdated(deviceId: $deviceId) { id status sequence command { ${COMMAND_FIELDS} } } }`;
export interface CommandUpdatedResult {
  commandUpdated: Pick<CommandUpdate, 'id' | 'status' | 'sequence' | 'command'> | null;
}
