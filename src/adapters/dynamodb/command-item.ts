/**
 * The Commands table item and its mapping to the domain Command. Shared by the repository and
 * the change feed (stream images). JSON values are stored as JSON text: DynamoDB maps cannot
 * hold every JSON value faithfully (empty keys in older SDKs, number precision, set types).
 */
import { isCommandStatus, nextCheckAt, type Command, type LateAnswer } from '../../commands/command.js';
import type { Json } from '../../domain/json-document.js';

/** Partition key value of the byDeadline index while a command is not final. */
export const DEADLINE_PK = 'DEADLINE';

/** A command as stored. */
export interface CommandItem {
  id: string;
  deviceId: string;
  name: string;
  payload: string;
  clientToken?: string;
  requestHash: string;
  timeoutSeconds: number;
  expiresAt: string;
  status: string;
  statusReason?: string;
  result?: string;
  createdBy: string;
  createdAt: string;
  sentAt?: string;
  completedAt?: string;
  deadlineAt?: string;
  lateAnswer?: string;
  redriveAt?: string;
  failedDeliveries?: number;
  version: number;
  /** createdAt#id: sort key of byDevice and byQueue. */
  createdKey: string;
  /** The device id until the device acknowledged the command (byQueue): waiting, or sent with no answer yet. */
  queuedFor?: string;
  /** DEADLINE_PK while not final (byDeadline). */
  deadlinePk?: string;
  /** nextCheckAt#id (byDeadline): the deadline, or the re-drive check when that comes first. */
  deadlineKey?: string;
}

/** The sort key of the byDeadline index for a deadline. */
export const deadlineKeyOf = (deadlineAt: string, id: string): string => `${deadlineAt}#${id}`;

/** The item written when a command is created (queued). */
export function toCommandItem(command: Command, requestHash: string): CommandItem {
  return {
    id: command.id,
    deviceId: command.deviceId,
    name: command.name,
    payload: JSON.stringify(command.payload),
    ...(command.clientToken && { clientToken: command.clientToken }),
    requestHash,
    timeoutSeconds: command.timeoutSeconds,
    expiresAt: command.expiresAt,
    status: command.status,
    createdBy: command.createdBy,
    createdAt: command.createdAt,
    version: command.version,
    createdKey: `${command.createdAt}#${command.id}`,
    queuedFor: command.deviceId,
    deadlineAt: command.expiresAt,
    ...(command.redriveAt && { redriveAt: command.redriveAt }),
    deadlinePk: DEADLINE_PK,
    deadlineKey: deadlineKeyOf(nextCheckAt({ deadlineAt: command.expiresAt, redriveAt: command.redriveAt })!, command.id),
  };
}

/** Whether an (unmarshalled) item is a command. */
export function isCommandItem(item: unknown): item is CommandItem {
  if (typeof item !== 'object' || item === null) return false;
  const i = item as Record<string, unknown>;
  return typeof i.id === 'string' && typeof i.deviceId === 'string' && typeof i.name === 'string' && isCommandStatus(i.status) && typeof i.version === 'number' && typeof i.payload === 'string';
}

/** The domain Command of a stored item. */
export function fromCommandItem(item: CommandItem | Record<string, unknown>): Command {
  if (!isCommandItem(item)) throw new Error(`Commands table item ${String((item as { id?: unknown }).id)} is not a command`);
  return {
    id: item.id,
    deviceId: item.deviceId,
    name: item.name,
    payload: JSON.parse(item.payload) as Json,
    ...(item.clientToken && { clientToken: item.clientToken }),
    timeoutSeconds: item.timeoutSeconds,
    expiresAt: item.expiresAt,
    status: item.status as Command['status'],
    ...(item.statusReason !== undefined && { statusReason: item.statusReason }),
    ...(item.result !== undefined && { result: JSON.parse(item.result) as Json }),
    createdBy: item.createdBy,
    createdAt: item.createdAt,
    ...(item.sentAt && { sentAt: item.sentAt }),
    ...(item.completedAt && { completedAt: item.completedAt }),
    ...(item.deadlineAt && { deadlineAt: item.deadlineAt }),
    ...(item.lateAnswer && { lateAnswer: JSON.parse(item.lateAnswer) as LateAnswer }),
    ...(item.redriveAt && { redriveAt: item.redriveAt }),
    ...(item.failedDeliveries !== undefined && { failedDeliveries: item.failedDeliveries }),
    version: item.version,
  };
}
