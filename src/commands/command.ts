/**
 * The command model, shared by every door: what an operator asks a device to do, and the
 * status it went through. Statuses follow AWS IoT Commands, plus CANCELED.
 */
import { createHash } from 'node:crypto';
import type { Json } from '../domain/json-document.js';

/** Every status a command can have. */
export const COMMAND_STATUSES = ['CREATED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED'] as const;

/** Where a command is in its life. */
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** Statuses a command never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<CommandStatus> = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED']);

/** Statuses a device may answer with. */
export const DEVICE_ANSWER_STATUSES = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'] as const;

/** A status a device may answer with. */
export type DeviceAnswerStatus = (typeof DEVICE_ANSWER_STATUSES)[number];

/** An answer that arrived after the command was already final: kept, but it changes nothing. */
export interface LateAnswer {
  readonly status: DeviceAnswerStatus;
  readonly statusReason?: string;
  readonly result?: Json;
  readonly receivedAt: string;
}

/** A command to one device. */
export interface Command {
  /** UUID; derived from (deviceId, clientToken) when a client token is given. */
  readonly id: string;
  readonly deviceId: string;
  /** `[a-z0-9_-]{1,64}` */
  readonly name: string;
  readonly payload: Json;
  readonly clientToken?: string;
  /** Seconds the device has to finish once the command was delivered. */
  readonly timeoutSeconds: number;
  /** Until when an undelivered command waits for its (offline) device. */
  readonly expiresAt: string;
  readonly status: CommandStatus;
  readonly statusReason?: string;
  readonly result?: Json;
  /** Who sent it (user name or service client id). */
  readonly createdBy: string;
  readonly createdAt: string;
  /** When it was published to the device; absent while queued. */
  readonly sentAt?: string;
  /** When it reached a final status. */
  readonly completedAt?: string;
  /** When the current wait ends: expiresAt while queued, sentAt + timeoutSeconds once sent; absent when final. */
  readonly deadlineAt?: string;
  readonly lateAnswer?: LateAnswer;
  /**
   * While it waits for delivery: when the sweep next looks at it, in case it was missed while
   * its device was ONLINE (a failed publish, a crash between the write and the publish).
   */
  readonly redriveAt?: string;
  /** How many publishes of it failed. */
  readonly failedDeliveries?: number;
  /** Incremented by every write; orders the changes of one command. */
  readonly version: number;
}

/** Whether a command waits for its first (or next, after a failed publish) delivery. */
export function isAwaitingDelivery(command: Command): boolean {
  return command.status === 'CREATED' && command.sentAt === undefined;
}

/**
 * When the sweep must next look at a command that is not final: its deadline, or earlier its
 * re-drive check. The deadline index is keyed on it, so one index serves both.
 */
export function nextCheckAt(command: Pick<Command, 'deadlineAt' | 'redriveAt'>): string | undefined {
  const { deadlineAt, redriveAt } = command;
  return redriveAt !== undefined && deadlineAt !== undefined && redriveAt < deadlineAt ? redriveAt : deadlineAt;
}

/** Whether a value is one of COMMAND_STATUSES. */
export function isCommandStatus(value: unknown): value is CommandStatus {
  return typeof value === 'string' && (COMMAND_STATUSES as readonly string[]).includes(value);
}

/** Whether a status is final. */
export function isTerminal(status: CommandStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/**
 * The statuses from which `to` may be reached: transitions only move forward (CREATED →
 * IN_PROGRESS → a final status), so a redelivered or reordered answer can never move a
 * command back, and each transition happens at most once.
 */
export function allowedPredecessors(to: CommandStatus): readonly CommandStatus[] {
  switch (to) {
    case 'CREATED':
      return [];
    case 'IN_PROGRESS':
      return ['CREATED'];
    case 'CANCELED':
      return ['CREATED'];
    default:
      return ['CREATED', 'IN_PROGRESS'];
  }
}

/**
 * The command id for a client token: a UUID (version 8, RFC 9562's custom form) from the
 * SHA-256 of the device id and the token, so a retried send finds the command it created
 * with one conditional write and no separate token item.
 */
export function commandIdForToken(deviceId: string, clientToken: string): string {
  const hash = createHash('sha256').update(`command-token\u0000${deviceId}\u0000${clientToken}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** JSON with object keys sorted, so equal values serialize equally whatever their key order. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key]!)}`).join(',')}}`;
}
