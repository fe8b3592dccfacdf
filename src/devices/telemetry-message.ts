/**
 * The telemetry messages a device publishes (schema version 1: one reading; version 2: up to
 * MAX_POINTS_PER_MESSAGE readings), and their validator.
 * The contract is documented in docs/device-contract.md; the validator is the only place
 * that decides whether a payload is acceptable, for the cloud ingest Lambda and the local
 * rules runner alike. It never throws on device input: it returns a parsed message or a
 * precise, machine-readable reason that travels to the dead-letter queue.
 */
import type { ReadingValue } from '../domain/device.js';

/** The schema version of a one-reading message. */
export const TELEMETRY_SCHEMA_VERSION = 1;

/** The schema version of a message of several readings (`points`). */
export const TELEMETRY_POINTS_SCHEMA_VERSION = 2;

/** Readings one version-2 message may carry. */
export const MAX_POINTS_PER_MESSAGE = 100;

/** Limits a telemetry message must respect; all overridable for tests and tuning. */
export interface TelemetryLimits {
  /** IoT Core's own payload limit: 128 KB. */
  readonly maxPayloadBytes: number;
  /**
   * Nesting depth of the JSON document. A v1 message is depth 2 (object → metrics); a little
   * more is allowed so that a nested metric value gets the precise WRONG_TYPE reason, while
   * pathological nesting is refused as TOO_DEEP before any field is looked at.
   */
  readonly maxDepth: number;
  readonly maxMetrics: number;
  readonly maxMetricNameLength: number;
  /** Longest string metric value (characters). */
  readonly maxStringLength: number;
  /** How far before the receive time `ts` may be (devices buffer while offline). */
  readonly maxPastMs: number;
  /** How far after the receive time `ts` may be (clock skew). */
  readonly maxFutureMs: number;
  /**
   * Distinct metrics kept in a device's latest-readings map (its registry item). A device that
   * keeps inventing metric names would otherwise grow its item towards DynamoDB's 400 KB limit;
   * 200 names of at most 64 characters with strings of at most 1,024 keep it under ~220 KB.
   */
  readonly maxReadings: number;
}

/** Defaults; maxPastMs must stay within the Timestream memory-store retention set in lib/ingest-pipeline.ts. */
export const DEFAULT_TELEMETRY_LIMITS: TelemetryLimits = Object.freeze({
  maxPayloadBytes: 128 * 1024,
  maxDepth: 4,
  maxMetrics: 100,
  maxMetricNameLength: 64,
  maxStringLength: 1024,
  maxPastMs: 7 * 24 * 3600 * 1000,
  maxFutureMs: 5 * 60 * 1000,
  maxReadings: 200,
});

/** Publishes per second a device may send (IoT Core's per-connection limit); enforced by the broker, documented here. */
export const MAX_MESSAGES_PER_SECOND = 100;

/** One valid reading, normalised: `ts` is epoch milliseconds whatever form the device sent. */
export interface TelemetryReading {
  /** Epoch milliseconds of the measurement. */
  readonly ts: number;
  /** Per-device sequence number (non-negative safe integer); (device, seq) identifies a reading. */
  readonly seq: number;
  readonly metrics: Readonly<Record<string, ReadingValue>>;
}

/** A valid version-1 message: one reading. */
export interface TelemetryMessage extends TelemetryReading {
  readonly v: typeof TELEMETRY_SCHEMA_VERSION;
}

/** Every reason a message can be refused; stable strings, used as the DLQ `reason`. */
export const REJECT_REASONS = [
  'PAYLOAD_TOO_LARGE',
  'EMPTY_PAYLOAD',
  'INVALID_UTF8',
  'INVALID_JSON',
  'NOT_AN_OBJECT',
  'TOO_DEEP',
  'UNSUPPORTED_VERSION',
  'MISSING_FIELD',
  'UNKNOWN_FIELD',
  'WRONG_TYPE',
  'NON_FINITE_NUMBER',
  'INVALID_TIMESTAMP',
  'TIMESTAMP_TOO_OLD',
  'TIMESTAMP_IN_FUTURE',
  'INVALID_SEQUENCE',
  'NO_METRICS',
  'TOO_MANY_METRICS',
  'INVALID_METRIC_NAME',
  'STRING_TOO_LONG',
  // Version 2: a message without readings, or with more than MAX_POINTS_PER_MESSAGE.
  'NO_POINTS',
  'TOO_MANY_POINTS',
  // Decided by the ingest handler rather than the validator:
  'INVALID_ENVELOPE',
  'UNKNOWN_DEVICE',
  'DUPLICATE_SEQUENCE',
  'STORE_REJECTED',
  // The message would add metric names beyond the device's latest-readings map (maxReadings).
  'READINGS_LIMIT',
  // DynamoDB refused the device's state write because its item would pass 400 KB: never retried.
  'ITEM_TOO_LARGE',
] as const;

/** Why a message was refused. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/** The validator's answer. */
export type TelemetryValidation =
  | { readonly ok: true; readonly message: TelemetryMessage }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

/** One point of a message: its reading, or why that point alone is refused. */
export type PointValidation =
  | { readonly ok: true; readonly reading: TelemetryReading }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

/**
 * A message of either version: refused whole (unreadable, or no valid version-2 frame), or its
 * points one by one. A version-1 message is one point; its refusal is the message's.
 */
export type TelemetryPayloadValidation =
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string }
  | { readonly ok: true; readonly version: 1 | 2; readonly points: readonly PointValidation[] };

/** Metric names: a letter, then letters, digits, `_`, `-` or `.` (safe as Timestream measure and DynamoDB names). */
const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
/** ISO-8601 with a zone (Z or ±hh:mm); a zone-less time would be read in the receiver's zone. */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const FIELDS = new Set(['v', 'ts', 'seq', 'metrics']);
const POINTS_FIELDS = new Set(['v', 'points']);
const POINT_FIELDS = new Set(['ts', 'seq', 'metrics']);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

type Refusal = { readonly ok: false; readonly reason: RejectReason; readonly detail: string };
const reject = (reason: RejectReason, detail: string): Refusal => ({ ok: false, reason, detail });

/**
 * Validates a raw payload received at `receivedAt` (epoch ms) and returns the parsed message
 * or the first rule it breaks. Never throws.
 */
export function parseTelemetry(
  payload: Uint8Array,
  receivedAt: number,
  limits: TelemetryLimits = DEFAULT_TELEMETRY_LIMITS,
): TelemetryValidation {
  const document = decodeDocument(payload, limits);
  return 'reason' in document ? document : validateTelemetry(document.value, receivedAt, limits);
}

/**
 * Validates a raw payload of either version received at `receivedAt` (epoch ms): a version-2
 * message is refused whole only when its frame is wrong (not JSON, unknown fields, `points` not
 * a list of 1-MAX_POINTS_PER_MESSAGE), else each point is valid or refused alone. Never throws.
 */
export function parseTelemetryPayload(
  payload: Uint8Array,
  receivedAt: number,
  limits: TelemetryLimits = DEFAULT_TELEMETRY_LIMITS,
): TelemetryPayloadValidation {
  const document = decodeDocument(payload, limits);
  if ('reason' in document) return document;
  const body = document.value;
  const version = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).v : undefined;
  if (typeof version === 'number' && version !== TELEMETRY_SCHEMA_VERSION && version !== TELEMETRY_POINTS_SCHEMA_VERSION) {
    return reject('UNSUPPORTED_VERSION', `schema version ${version} is not supported (expected ${TELEMETRY_SCHEMA_VERSION} or ${TELEMETRY_POINTS_SCHEMA_VERSION})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || version !== TELEMETRY_POINTS_SCHEMA_VERSION) {
    const one = validateTelemetry(body, receivedAt, limits);
    return one.ok ? { ok: true, version: 1, points: [{ ok: true, reading: one.message }] } : one;
  }
  // A point nests two levels below the message (points → point), so the frame allows two more.
  if (depthExceeding(body, limits.maxDepth + 2) !== undefined) return reject('TOO_DEEP', `nesting deeper than ${limits.maxDepth + 2} levels`);
  const frame = body as Record<string, unknown>;
  for (const key of Object.keys(frame)) {
    if (!POINTS_FIELDS.has(key)) return reject('UNKNOWN_FIELD', `unknown field "${truncate(key)}" (allowed in version 2: v, points)`);
  }
  if (!('points' in frame) || frame.points === null) return reject('MISSING_FIELD', 'field "points" is required');
  if (!Array.isArray(frame.points)) return reject('WRONG_TYPE', `"points" must be an array, got ${describe(frame.points)}`);
  if (frame.points.length === 0) return reject('NO_POINTS', '"points" is empty');
  if (frame.points.length > MAX_POINTS_PER_MESSAGE) {
    return reject('TOO_MANY_POINTS', `${frame.points.length} points; the limit is ${MAX_POINTS_PER_MESSAGE}`);
  }
  const points = frame.points.map((point: unknown): PointValidation => {
    if (typeof point !== 'object' || point === null || Array.isArray(point)) {
      return { ok: false, reason: 'NOT_AN_OBJECT', detail: `a point must be a JSON object, got ${describe(point)}` };
    }
    for (const key of Object.keys(point)) {
      if (!POINT_FIELDS.has(key)) return { ok: false, reason: 'UNKNOWN_FIELD', detail: `unknown field "${truncate(key)}" in a point (allowed: ts, seq, metrics)` };
    }
    const result = validateReading(point as Record<string, unknown>, receivedAt, limits);
    return result.ok ? { ok: true, reading: result.message } : result;
  });
  return { ok: true, version: 2, points };
}

/** The JSON document of a payload, or why there is none. */
function decodeDocument(payload: Uint8Array, limits: TelemetryLimits): { readonly value: unknown } | { readonly ok: false; readonly reason: RejectReason; readonly detail: string } {
  if (payload.byteLength > limits.maxPayloadBytes) {
    return reject('PAYLOAD_TOO_LARGE', `payload is ${payload.byteLength} bytes; the limit is ${limits.maxPayloadBytes}`);
  }
  if (payload.byteLength === 0) return reject('EMPTY_PAYLOAD', 'payload is empty');
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return reject('INVALID_UTF8', 'payload is not valid UTF-8');
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: 'INVALID_JSON', detail: `payload is not JSON: ${(error as Error).message}` };
  }
}

/** Validates an already parsed document (the rules of {@link parseTelemetry} after JSON parsing). */
export function validateTelemetry(
  document: unknown,
  receivedAt: number,
  limits: TelemetryLimits = DEFAULT_TELEMETRY_LIMITS,
): TelemetryValidation {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return reject('NOT_AN_OBJECT', `payload must be a JSON object, got ${describe(document)}`);
  }
  const depth = depthExceeding(document, limits.maxDepth);
  if (depth !== undefined) return reject('TOO_DEEP', `nesting deeper than ${limits.maxDepth} levels`);
  const body = document as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) return reject('UNKNOWN_FIELD', `unknown field "${truncate(key)}" (allowed: v, ts, seq, metrics)`);
  }
  for (const field of ['v', 'ts', 'seq', 'metrics']) {
    if (!(field in body) || body[field] === null) return reject('MISSING_FIELD', `field "${field}" is required`);
  }
  if (typeof body.v !== 'number') return reject('WRONG_TYPE', `"v" must be a number, got ${describe(body.v)}`);
  if (body.v !== TELEMETRY_SCHEMA_VERSION) {
    return reject('UNSUPPORTED_VERSION', `schema version ${String(body.v)} is not supported here (expected ${TELEMETRY_SCHEMA_VERSION})`);
  }
  return validateReading(body, receivedAt, limits);
}

/** The rules of one reading (`ts`, `seq`, `metrics`), shared by both versions. */
function validateReading(body: Record<string, unknown>, receivedAt: number, limits: TelemetryLimits): TelemetryValidation {
  for (const field of ['ts', 'seq', 'metrics']) {
    if (!(field in body) || body[field] === null) return reject('MISSING_FIELD', `field "${field}" is required`);
  }
  const ts = parseTimestamp(body.ts);
  if (typeof ts !== 'number') return ts;
  if (ts < receivedAt - limits.maxPastMs) {
    return reject('TIMESTAMP_TOO_OLD', `ts ${new Date(ts).toISOString()} is more than ${limits.maxPastMs} ms before receipt`);
  }
  if (ts > receivedAt + limits.maxFutureMs) {
    return reject('TIMESTAMP_IN_FUTURE', `ts ${new Date(ts).toISOString()} is more than ${limits.maxFutureMs} ms after receipt`);
  }

  const seq = body.seq;
  if (typeof seq !== 'number') return reject('WRONG_TYPE', `"seq" must be a number, got ${describe(seq)}`);
  if (!Number.isSafeInteger(seq) || seq < 0) {
    return reject('INVALID_SEQUENCE', `"seq" must be a non-negative integer below 2^53, got ${String(seq)}`);
  }

  const metrics = body.metrics;
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    return reject('WRONG_TYPE', `"metrics" must be an object, got ${describe(metrics)}`);
  }
  const names = Object.keys(metrics);
  if (names.length === 0) return reject('NO_METRICS', '"metrics" is empty');
  if (names.length > limits.maxMetrics) {
    return reject('TOO_MANY_METRICS', `${names.length} metrics; the limit is ${limits.maxMetrics}`);
  }
  for (const name of names) {
    if (name.length > limits.maxMetricNameLength || !METRIC_NAME.test(name)) {
      return reject(
        'INVALID_METRIC_NAME',
        `metric name "${truncate(name)}" must match ${METRIC_NAME.source} and be at most ${limits.maxMetricNameLength} characters`,
      );
    }
    const value = (metrics as Record<string, unknown>)[name];
    if (typeof value === 'number') {
      // JSON.parse cannot produce NaN/Infinity, but 1e999 parses to Infinity.
      if (!Number.isFinite(value)) return reject('NON_FINITE_NUMBER', `metric "${name}" is not a finite number`);
    } else if (typeof value === 'string') {
      if (value.length > limits.maxStringLength) {
        return reject('STRING_TOO_LONG', `metric "${name}" is ${value.length} characters; the limit is ${limits.maxStringLength}`);
      }
    } else if (typeof value !== 'boolean') {
      return reject('WRONG_TYPE', `metric "${name}" must be a number, boolean or string, got ${describe(value)}`);
    }
  }
  return { ok: true, message: { v: TELEMETRY_SCHEMA_VERSION, ts, seq, metrics: metrics as Record<string, ReadingValue> } };
}

/** `ts` as epoch ms: an integer number of milliseconds or an ISO-8601 string with a zone. */
function parseTimestamp(value: unknown): number | TelemetryValidation {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return reject('NON_FINITE_NUMBER', '"ts" is not a finite number');
    if (!Number.isSafeInteger(value) || value < 0) {
      return reject('INVALID_TIMESTAMP', `"ts" must be whole epoch milliseconds, got ${String(value)}`);
    }
    return value;
  }
  if (typeof value === 'string') {
    const ms = ISO_TIMESTAMP.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) return reject('INVALID_TIMESTAMP', `"ts" is not an ISO-8601 time with a zone: "${truncate(value)}"`);
    return ms;
  }
  return reject('WRONG_TYPE', `"ts" must be epoch milliseconds or an ISO-8601 string, got ${describe(value)}`);
}

/** Returns a depth beyond `max` if the document nests deeper, else undefined; stops early. */
function depthExceeding(root: object, max: number): number | undefined {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return depth;
    const children = Array.isArray(node) ? node : Object.values(node as object);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function truncate(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
