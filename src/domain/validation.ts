/**
 * Input rules of the device registry, shared by every door. Each check takes `unknown`
 * because doors hand over decoded JSON or protobuf values; a wrong type is a
 * ValidationError naming the field, never a TypeError further down.
 */
import { DEVICE_STATUSES, isDeviceStatus, type DeviceStatus } from './device.js';
import { ValidationError } from './errors.js';

/** Longest device name, in characters (Unicode code points). */
export const MAX_NAME_LENGTH = 128;
/** Device types: lower-case letters, digits, `_` and `-`, 1-64 characters. */
export const TYPE_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** Most metadata entries per device. */
export const MAX_METADATA_ENTRIES = 50;
/** Longest metadata key, in characters. */
export const MAX_METADATA_KEY_LENGTH = 128;
/** Longest metadata value, in characters. */
export const MAX_METADATA_VALUE_LENGTH = 1024;
/** Smallest, largest and default page size of a listing. */
export const MIN_PAGE_SIZE = 1;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Length in code points, so an emoji counts as one character, as a user would count it. */
const charLength = (value: string): number => {
  let n = 0;
  for (const _ of value) n++;
  return n;
};

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/**
 * A device id: a UUID (8-4-4-4-12 hex digits). Upper-case hex is accepted and returned
 * lower-case, the form ids are stored in, so `get` finds the device whatever the case.
 */
export function validateDeviceId(value: unknown, field = 'id'): string {
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string UUID, got ${describe(value)}`, field);
  const id = value.toLowerCase();
  if (!UUID_PATTERN.test(id)) {
    throw new ValidationError(`${field} must be a UUID such as 123e4567-e89b-12d3-a456-426614174000, got "${truncate(value)}"`, field);
  }
  return id;
}

/**
 * C0 and C1 control characters (NUL, line breaks, escape sequences) and the bidirectional
 * formatting characters (embeddings, overrides, isolates, marks) that make a name display as
 * something else than it is in a console, a log line or a terminal.
 */
const UNSAFE_NAME_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Metadata keys that name an object's prototype machinery: refused, never stored or merged. */
export const RESERVED_METADATA_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** A device name: 1-128 characters, not only whitespace, without control or bidi formatting characters. */
export function validateName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string, got ${describe(value)}`, field);
  if (value.trim().length === 0) throw new ValidationError(`${field} must not be empty`, field);
  const unsafe = UNSAFE_NAME_CHARACTER.exec(value);
  if (unsafe) {
    const code = unsafe[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new ValidationError(`${field} must not contain control or bidirectional formatting characters, got U+${code} at position ${unsafe.index}`, field);
  }
  const length = charLength(value);
  if (length > MAX_NAME_LENGTH) {
    throw new ValidationError(`${field} must be at most ${MAX_NAME_LENGTH} characters, got ${length}`, field);
  }
  return value;
}

/** A device type matching TYPE_PATTERN. */
export function validateType(value: unknown, field = 'type'): string {
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string, got ${describe(value)}`, field);
  if (!TYPE_PATTERN.test(value)) {
    throw new ValidationError(
      `${field} must be 1-64 characters of a-z, 0-9, "_" or "-", got "${truncate(value)}"`,
      field,
    );
  }
  return value;
}

/** One of DEVICE_STATUSES. */
export function validateStatus(value: unknown, field = 'status'): DeviceStatus {
  if (!isDeviceStatus(value)) {
    throw new ValidationError(
      `${field} must be one of ${DEVICE_STATUSES.join(', ')}, got ${typeof value === 'string' ? `"${truncate(value)}"` : describe(value)}`,
      field,
    );
  }
  return value;
}

/** Metadata: a plain object of at most 50 string entries, keys 1-128 and values up to 1,024 characters. */
export function validateMetadata(value: unknown, field = 'metadata'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${field} must be an object of string values, got ${describe(value)}`, field);
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw new ValidationError(`${field} must have at most ${MAX_METADATA_ENTRIES} entries, got ${entries.length}`, field);
  }
  const result: Record<string, string> = {};
  for (const [key, entry] of entries) {
    checkMetadataEntry(key, entry, field);
    // defineProperty so a key such as "__proto__" stays an ordinary entry.
    Object.defineProperty(result, key, { value: entry, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/**
 * Metadata from a key/value list (the GraphQL and proto shapes); a key given twice is a
 * ValidationError rather than a silent last-one-wins.
 */
export function metadataFromPairs(pairs: readonly { key: string; value: string }[], field = 'metadata'): Record<string, string> {
  if (!Array.isArray(pairs)) throw new ValidationError(`${field} must be a list of key/value pairs, got ${describe(pairs)}`, field);
  if (pairs.length > MAX_METADATA_ENTRIES) {
    throw new ValidationError(`${field} must have at most ${MAX_METADATA_ENTRIES} entries, got ${pairs.length}`, field);
  }
  const result: Record<string, string> = {};
  const seen = new Set<string>();
  for (const pair of pairs) {
    if (typeof pair !== 'object' || pair === null) throw new ValidationError(`${field} entries must be key/value pairs`, field);
    checkMetadataEntry(pair.key, pair.value, field);
    if (seen.has(pair.key)) throw new ValidationError(`${field} key "${truncate(pair.key)}" is given more than once`, field);
    seen.add(pair.key);
    Object.defineProperty(result, pair.key, { value: pair.value, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** A page size: absent means DEFAULT_PAGE_SIZE; otherwise an integer in 1..100. */
export function validateLimit(value: unknown, field = 'limit'): number {
  if (value === undefined || value === null) return DEFAULT_PAGE_SIZE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_PAGE_SIZE || value > MAX_PAGE_SIZE) {
    throw new ValidationError(
      `${field} must be an integer from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}, got ${typeof value === 'number' ? value : describe(value)}`,
      field,
    );
  }
  return value;
}

/** An expected version: a positive integer. */
export function validateVersion(value: unknown, field = 'expectedVersion'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer, got ${typeof value === 'number' ? value : describe(value)}`, field);
  }
  return value;
}

function checkMetadataEntry(key: unknown, value: unknown, field: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new ValidationError(`${field} keys must be non-empty strings`, field);
  if (RESERVED_METADATA_KEYS.includes(key)) {
    throw new ValidationError(`${field} key "${key}" is reserved; use another name (${RESERVED_METADATA_KEYS.join(', ')} are refused)`, field);
  }
  const keyLength = charLength(key);
  if (keyLength > MAX_METADATA_KEY_LENGTH) {
    throw new ValidationError(
      `${field} key "${truncate(key)}" must be at most ${MAX_METADATA_KEY_LENGTH} characters, got ${keyLength}`,
      field,
    );
  }
  if (typeof value !== 'string') {
    throw new ValidationError(`${field} value of "${truncate(key)}" must be a string, got ${describe(value)}`, field);
  }
  const valueLength = charLength(value);
  if (valueLength > MAX_METADATA_VALUE_LENGTH) {
    throw new ValidationError(
      `${field} value of "${truncate(key)}" must be at most ${MAX_METADATA_VALUE_LENGTH} characters, got ${valueLength}`,
      field,
    );
  }
}

/** Keeps error messages short when the offending input is huge. */
function truncate(value: string, max = 40): string {
  return value.length > max ? `${value.slice(0, max)}...` : value;
}
