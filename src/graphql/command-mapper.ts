import type { Command as DomainCommand } from '../commands/command.js';
import type { CommandChange } from '../commands/command-change.js';
import type { Twin as DomainTwin } from '../twin/twin.js';
import type { Command, CommandUpdateInput, Twin } from '../generated/graphql/types.js';

/** A domain command in the schema's shape (JSON fields as values: the AWSJSON scalar serializes them). */
export function toGraphqlCommand(command: DomainCommand): Command {
  return {
    id: command.id,
    deviceId: command.deviceId,
    name: command.name,
    payload: command.payload,
    clientToken: command.clientToken ?? null,
    timeoutSeconds: command.timeoutSeconds,
    expiresAt: command.expiresAt,
    status: command.status,
    statusReason: command.statusReason ?? null,
    result: command.result === undefined ? null : command.result,
    createdBy: command.createdBy,
    createdAt: command.createdAt,
    sentAt: command.sentAt ?? null,
    completedAt: command.completedAt ?? null,
    lateAnswer: command.lateAnswer ?? null,
  };
}

/** A domain twin in the schema's shape. */
export function toGraphqlTwin(twin: DomainTwin): Twin {
  return {
    desired: twin.desired,
    reported: twin.reported,
    delta: twin.delta,
    version: twin.version,
    metadata: twin.metadata,
    updatedAt: twin.updatedAt ?? null,
  };
}

/**
 * The publishCommandUpdate input for a transition. AWSJSON inputs travel as JSON text, so the
 * JSON fields are serialized here (the mutation's result returns them as values again).
 */
export function toCommandUpdateInput(change: CommandChange): CommandUpdateInput {
  const command = toGraphqlCommand(change.command);
  return {
    id: command.id,
    deviceId: command.deviceId,
    status: command.status,
    previousStatus: change.previousStatus ?? null,
    command: {
      ...command,
      payload: JSON.stringify(command.payload),
      result: command.result === null || command.result === undefined ? null : JSON.stringify(command.result),
      lateAnswer: command.lateAnswer === null || command.lateAnswer === undefined ? null : JSON.stringify(command.lateAnswer),
    },
    changedAt: change.changedAt,
    sequence: change.sequence,
  };
}

