/** Conversions between commands and twins and their proto messages; JSON travels as JSON text. */
import type { Command } from '../commands/command.js';
import type { CommandChange } from '../commands/command-change.js';
import type { ListCommandsInput, SendCommandInput } from '../commands/command-service.js';
import { ValidationError } from '../domain/errors.js';
import type { Timestamp__Output } from '../generated/proto/google/protobuf/Timestamp.js';
import type { Command as ProtoCommand } from '../generated/proto/iot/device/v1/Command.js';
import type { CommandStatus as ProtoCommandStatus } from '../generated/proto/iot/device/v1/CommandStatus.js';
import type { ListCommandsRequest__Output } from '../generated/proto/iot/device/v1/ListCommandsRequest.js';
import type { SendCommandRequest__Output } from '../generated/proto/iot/device/v1/SendCommandRequest.js';
import type { Twin as ProtoTwin } from '../generated/proto/iot/device/v1/Twin.js';
import type { WatchCommandsResponse } from '../generated/proto/iot/device/v1/WatchCommandsResponse.js';
import type { Twin } from '../twin/twin.js';
import { toTimestamp } from './device-mapper.js';

const STATUS_PREFIX = 'COMMAND_STATUS_';

/** A domain command as the proto message. */
export function toProtoCommand(command: Command): ProtoCommand {
  return {
    id: command.id,
    deviceId: command.deviceId,
    name: command.name,
    payloadJson: JSON.stringify(command.payload),
    clientToken: command.clientToken ?? '',
    timeoutSeconds: command.timeoutSeconds,
    expiresAt: toTimestamp(command.expiresAt),
    status: `${STATUS_PREFIX}${command.status}` as ProtoCommandStatus,
    statusReason: command.statusReason ?? '',
    resultJson: command.result === undefined ? '' : JSON.stringify(command.result),
    createdBy: command.createdBy,
    createdAt: toTimestamp(command.createdAt),
    sentAt: command.sentAt ? toTimestamp(command.sentAt) : null,
    completedAt: command.completedAt ? toTimestamp(command.completedAt) : null,
    lateAnswerJson: command.lateAnswer ? JSON.stringify(command.lateAnswer) : '',
  };
}

/** A transition as a WatchCommands message. */
export function toWatchCommandsResponse(change: CommandChange): WatchCommandsResponse {
  return {
    command: toProtoCommand(change.command),
    previousStatus: change.previousStatus ? (`${STATUS_PREFIX}${change.previousStatus}` as ProtoCommandStatus) : 'COMMAND_STATUS_UNSPECIFIED',
    changeTime: toTimestamp(change.changedAt),
    sequence: change.sequence,
  };
}

/** A twin as the proto message. */
export function toProtoTwin(twin: Twin): ProtoTwin {
  return {
    deviceId: twin.deviceId,
    desiredJson: JSON.stringify(twin.desired),
    reportedJson: JSON.stringify(twin.reported),
    deltaJson: JSON.stringify(twin.delta),
    version: String(twin.version),
    metadataJson: JSON.stringify(twin.metadata),
    updatedAt: twin.updatedAt ? toTimestamp(twin.updatedAt) : null,
  };
}

/** SendCommand request → use-case input; empty strings and zeros mean "not given". */
export function toSendInput(request: SendCommandRequest__Output): SendCommandInput {
  return {
    deviceId: request.deviceId,
    name: request.name,
    ...(request.payloadJson !== '' && { payload: request.payloadJson }),
    ...(request.clientToken !== '' && { clientToken: request.clientToken }),
    ...(request.timeoutSeconds !== 0 && { timeoutSeconds: request.timeoutSeconds }),
    ...(request.expiresAt && { expiresAt: fromTimestamp(request.expiresAt, 'expires_at') }),
  };
}

/** ListCommands request → use-case input. */
export function toListCommandsInput(request: ListCommandsRequest__Output): ListCommandsInput {
  const status = request.status;
  if (status !== undefined && status !== 'COMMAND_STATUS_UNSPECIFIED' && typeof status !== 'string') {
    throw new ValidationError('status is not a CommandStatus', 'status');
  }
  return {
    deviceId: request.deviceId,
    ...(request.pageSize !== 0 && { limit: request.pageSize }),
    ...(request.pageToken !== '' && { pageToken: request.pageToken }),
    ...(status !== undefined && status !== 'COMMAND_STATUS_UNSPECIFIED' && { status: String(status).replace(STATUS_PREFIX, '') }),
  };
}

function fromTimestamp(timestamp: Timestamp__Output, field: string): string {
  const seconds = Number(timestamp.seconds);
  const ms = seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1_000_000);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new ValidationError(`${field} is not a representable time`, field);
  return new Date(ms).toISOString();
}
