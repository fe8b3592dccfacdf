/**
 * Free-form JSON inputs (command payloads and results, twin documents and patches): one
 * checker for every door, so a size or nesting limit reads the same whichever way the
 * value arrived (JSON text from gRPC and the CLI, already parsed from AppSync's AWSJSON).
 */
import { ValidationError } from './errors.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** Limits of one JSON input. */
export interface JsonLimits {
  /** Largest serialized size, in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Deepest nesting: 1 = a flat object or array. */
  readonly maxDepth: number;
}

/** Bytes of a value's JSON text (what the limits count). */
export function jsonBytes(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Nesting depth: 0 for a scalar, 1 for a flat object or array. */
export function jsonDepth(value: Json): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) deepest = Math.max(deepest, jsonDepth(child));
  return deepest + 1;
}

/**
 * `value` as JSON within `limits`: a string is parsed as JSON text, anything else must
 * already be plain JSON (no undefined, functions, non-finite numbers). ValidationError
 * naming `field` otherwise.
 */
export function parseJsonInput(value: unknown, field: string, limits: JsonLimits): Json {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    if (Buffer.byteLength(value, 'utf8') > limits.maxBytes * 4) {
      throw new ValidationError(`${field} must be at most ${limits.maxBytes} bytes of JSON`, field);
    }
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new ValidationError(`${field} must be valid JSON text`, field);
    }
  }
  const json = checkPlainJson(parsed, field, 0, limits.maxDepth);
  const bytes = jsonBytes(json);
  if (bytes > limits.maxBytes) throw new ValidationError(`${field} must be at most ${limits.maxBytes} bytes of JSON, got ${bytes}`, field);
  return json;
}

/** `parseJsonInput` that also requires an object. */
export function parseJsonObjectInput(value: unknown, field: string, limits: JsonLimits): JsonObject {
  const json = parseJsonInput(value, field, limits);
  if (!isJsonObject(json)) throw new ValidationError(`${field} must be a JSON object`, field);
  return json;
}

/** Whether a JSON value is an object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkPlainJson(value: unknown, field: string, depth: number, maxDepth: number): Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`${field} must not contain NaN or Infinity`, field);
    return value;
  }
  if (typeof value !== 'object') throw new ValidationError(`${field} must be JSON (found a ${typeof value})`, field);
  if (depth + 1 > maxDepth) throw new ValidationError(`${field} must be nested at most ${maxDepth} levels deep`, field);
  if (Array.isArray(value)) return value.map((item) => checkPlainJson(item, field, depth + 1, maxDepth));
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    // defineProperty so a key such as "__proto__" stays an ordinary entry.
    Object.defineProperty(result, key, { value: checkPlainJson(child, field, depth + 1, maxDepth), enumerable: true, writable: true, configurable: true });
  }
  return result;
}
