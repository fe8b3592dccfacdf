/** Input rules of commands, shared by every door. */
import { ValidationError } from '../domain/errors.js';
import { parseJsonInput, type Json, type JsonLimits } from '../domain/json-document.js';
import { isCommandStatus, COMMAND_STATUSES, type CommandStatus } from './command.js';
import { COMMAND_NAME_PATTERN, DEFAULT_TIMEOUT_SECONDS, MAX_COMMAND_JSON_BYTES, MAX_TIMEOUT_SECONDS } from '../contracts/device-control-limits.js';

export { COMMAND_NAME_PATTERN, DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS };
/** Payloads and results: at most 32 KB of JSON, nested at most 8 levels. */
export const MAX_COMMAND_JSON: JsonLimits = { maxBytes: MAX_COMMAND_JSON_BYTES, maxDepth: 8 };
/** Client tokens: 1-64 printable ASCII characters. */
export const CLIENT_TOKEN_PATTERN = /^[\x21-\x7e]{1,64}$/;
/** How long an undelivered command waits for its device: default and most. */
export const DEFAULT_EXPIRY_SECONDS = 24 * 60 * 60;
export const MAX_EXPIRY_SECONDS = 7 * 24 * 60 * 60;
/** Longest status reason, from a device or an operator. */
export const MAX_STATUS_REASON_LENGTH = 1024;

/** A command name. */
export function validateCommandName(value: unknown): string {
  if (typeof value !== 'string' || !COMMAND_NAME_PATTERN.test(value)) {
    throw new ValidationError('name must be 1-64 characters of a-z, 0-9, "_" or "-"', 'name');
  }
  return value;
}

/** A payload: JSON text or value, at most 32 KB and 8 levels; absent means `{}`. */
export function validatePayload(value: unknown): Json {
  if (value === undefined || value === null) return {};
  return parseJsonInput(value, 'payload', MAX_COMMAND_JSON);
}

/** A client token, or undefined when absent or empty. */
export function validateClientToken(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !CLIENT_TOKEN_PATTERN.test(value)) {
    throw new ValidationError('clientToken must be 1-64 printable ASCII characters without spaces', 'clientToken');
  }
  return value;
}

/** The timeout in seconds: 1 to MAX_TIMEOUT_SECONDS, default 60. */
export function validateTimeoutSeconds(value: unknown): number {
  if (value === undefined || value === null || value === 0) return DEFAULT_TIMEOUT_SECONDS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_SECONDS) {
    throw new ValidationError(`timeoutSeconds must be an integer from 1 to ${MAX_TIMEOUT_SECONDS}`, 'timeoutSeconds');
  }
  return value;
}

/** expiresAt: an ISO time after `now` and at most 7 days later; absent means now + 24 h. */
export function validateExpiresAt(value: unknown, now: Date): string {
  if (value === undefined || value === null || value === '') return new Date(now.getTime() + DEFAULT_EXPIRY_SECONDS * 1000).toISOString();
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new ValidationError('expiresAt must be an ISO-8601 time with a zone', 'expiresAt');
  if (ms <= now.getTime()) throw new ValidationError('expiresAt must be in the future', 'expiresAt');
  if (ms > now.getTime() + MAX_EXPIRY_SECONDS * 1000) throw new ValidationError('expiresAt must be at most 7 days ahead', 'expiresAt');
  return new Date(ms).toISOString();
}

/** An optional status filter. */
export function validateCommandStatus(value: unknown): CommandStatus | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (!isCommandStatus(value)) throw new ValidationError(`status must be one of ${COMMAND_STATUSES.join(', ')}`, 'status');
  return value;
}
