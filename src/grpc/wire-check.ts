/**
 * A strict check of protobuf wire bytes against a message type, run before decoding.
 * protobufjs' decoder does not check wire types (a varint where a string belongs is read as a
 * length) and replaces invalid UTF-8 silently; proto3 requires valid UTF-8 in strings. This walks
 * the bytes once and throws on anything a conforming encoder could not have produced.
 * It also enforces size rules on string maps (see {@link MapLimits}) while walking, so an
 * oversized map is refused before protobufjs builds an object with every entry of it.
 */
import protobuf from 'protobufjs';

/** Bounds on one `map<string, string>` field, in the domain's units. */
export interface MapLimits {
  /** Most distinct keys (a key repeated on the wire is one entry, as decoding keeps the last). */
  readonly maxEntries: number;
  /** Longest key, in Unicode code points. */
  readonly maxKeyChars: number;
  /** Longest value, in Unicode code points. */
  readonly maxValueChars: number;
}

/** Options of {@link checkWire}. */
export interface WireCheckOptions {
  /** Limits by fully qualified map field name, e.g. `iot.device.v1.Device.metadata`. */
  readonly mapLimits?: ReadonlyMap<string, MapLimits>;
}

/** A well-formed request that breaks a {@link MapLimits} rule; the message names the rule. */
export class WireLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireLimitError';
  }
}

/** UTF-8 needs at most 4 bytes per code point, so more bytes than this break a char limit for sure. */
const MAX_UTF8_BYTES_PER_CHAR = 4;

const MAX_DEPTH = 32;

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Throws an Error naming the problem when `bytes` is not a well-formed `type`, or a
 * WireLimitError when a map breaks its `options.mapLimits`.
 */
export function checkWire(type: protobuf.Type, bytes: Uint8Array, options: WireCheckOptions = {}): void {
  const reader = protobuf.Reader.create(bytes);
  checkMessage({ mapLimits: options.mapLimits ?? new Map() }, type, reader, bytes.length, 0, '');
}

interface Walk {
  readonly mapLimits: ReadonlyMap<string, MapLimits>;
}

function checkMessage(walk: Walk, type: protobuf.Type, reader: protobuf.Reader, end: number, depth: number, path: string): void {
  if (depth > MAX_DEPTH) throw new Error(`message nested deeper than ${MAX_DEPTH}`);
  // Distinct keys seen so far per limited map of this message (entries of one map may interleave with other fields).
  let mapKeys: Map<protobuf.MapField, Set<string>> | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (number === 0) throw new Error('field number 0');
    const field = type.fieldsById[number];
    if (!field) {
      skipUnknown(reader, wireType);
      continue;
    }
    field.resolve();
    if (field instanceof protobuf.MapField) {
      expectWireType(field, wireType, 2);
      const limits = walk.mapLimits.get(field.fullName.replace(/^\./, ''));
      if (limits && field.keyType === 'string' && field.type === 'string') {
        mapKeys ??= new Map();
        let keys = mapKeys.get(field);
        if (!keys) mapKeys.set(field, (keys = new Set()));
        checkLimitedMapEntry(field, limits, keys, reader, `${path}${field.name}`);
      } else {
        checkMapEntry(walk, field, reader, depth, path);
      }
    } else {
      checkValue(walk, field, field.type, field.resolvedType, wireType, reader, depth, path);
    }
    if (reader.pos > end) throw new Error(`field ${field.name} overruns its message`);
  }
}

function checkValue(
  walk: Walk,
  field: protobuf.FieldBase,
  scalar: string,
  resolved: protobuf.Type | protobuf.Enum | null,
  wireType: number,
  reader: protobuf.Reader,
  depth: number,
  path: string,
): void {
  if (resolved instanceof protobuf.Type) {
    expectWireType(field, wireType, 2);
    const length = reader.uint32();
    const end = reader.pos + length;
    if (end > reader.len) throw new Error(`field ${field.name} overruns the buffer`);
    checkMessage(walk, resolved, reader, end, depth + 1, `${path}${field.name}.`);
    if (reader.pos !== end) throw new Error(`field ${field.name} has a bad length`);
    return;
  }
  const expected = resolved instanceof protobuf.Enum ? 0 : scalarWireType(scalar);
  if (field.repeated && wireType === 2 && expected !== 2) {
    // Packed repeated scalars.
    const length = reader.uint32();
    const end = reader.pos + length;
    if (end > reader.len) throw new Error(`field ${field.name} overruns the buffer`);
    while (reader.pos < end) reader.skipType(expected);
    if (reader.pos !== end) throw new Error(`field ${field.name} has a bad packed length`);
    return;
  }
  expectWireType(field, wireType, expected);
  if (scalar === 'string') {
    const bytes = reader.bytes();
    try {
      utf8.decode(bytes);
    } catch {
      throw new Error(`field ${field.name} is not valid UTF-8`);
    }
  } else if (expected === 0) {
    readVarint(reader, field.name);
  } else {
    reader.skipType(expected);
  }
}

function checkMapEntry(walk: Walk, field: protobuf.MapField, reader: protobuf.Reader, depth: number, path: string): void {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new Error(`map ${field.name} overruns the buffer`);
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        checkValue(walk, field, field.keyType, null, wireType, reader, depth, path);
        break;
      case 2:
        checkValue(walk, field, field.type, field.resolvedType, wireType, reader, depth, path);
        break;
      default:
        skipUnknown(reader, wireType);
    }
  }
  if (reader.pos !== end) throw new Error(`map ${field.name} has a bad entry length`);
}

/**
 * One entry of a limited string map. Lengths are checked before any string is built, so a
 * 10 MB value costs a comparison, not a 10 MB decode; keys are kept only up to maxEntries + 1.
 */
function checkLimitedMapEntry(field: protobuf.MapField, limits: MapLimits, keys: Set<string>, reader: protobuf.Reader, name: string): void {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new Error(`map ${field.name} overruns the buffer`);
  let key = '';
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    const number = tag >>> 3;
    if (number === 1 || number === 2) {
      expectWireType(field, wireType, 2);
      const bytes = reader.bytes();
      if (reader.pos > end) throw new Error(`map ${field.name} has a bad entry length`);
      if (number === 1) {
        key = limitedString(bytes, limits.maxKeyChars, field.name, () => `${name} keys must be at most ${limits.maxKeyChars} characters`);
      } else {
        limitedString(bytes, limits.maxValueChars, field.name, () => `${name} value of "${truncate(key)}" must be at most ${limits.maxValueChars} characters`);
      }
    } else {
      skipUnknown(reader, wireType);
    }
  }
  if (reader.pos !== end) throw new Error(`map ${field.name} has a bad entry length`);
  keys.add(key);
  if (keys.size > limits.maxEntries) throw new WireLimitError(`${name} must have at most ${limits.maxEntries} entries, got more than ${limits.maxEntries}`);
}

/** Decodes `bytes` as UTF-8 when it may fit `maxChars` code points; throws the rule otherwise. */
function limitedString(bytes: Uint8Array, maxChars: number, fieldName: string, rule: () => string): string {
  if (bytes.length > maxChars * MAX_UTF8_BYTES_PER_CHAR) throw new WireLimitError(`${rule()}, got ${bytes.length} bytes`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Error(`field ${fieldName} is not valid UTF-8`);
  }
  let chars = 0;
  for (const _ of text) chars++;
  if (chars > maxChars) throw new WireLimitError(`${rule()}, got ${chars}`);
  return text;
}

function truncate(value: string, max = 40): string {
  return value.length > max ? `${value.slice(0, max)}...` : value;
}

function scalarWireType(type: string): number {
  if (VARINT_TYPES.has(type)) return 0;
  if (FIXED64_TYPES.has(type)) return 1;
  if (FIXED32_TYPES.has(type)) return 5;
  return 2; // string, bytes
}

function expectWireType(field: protobuf.FieldBase, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`field ${field.name} has wire type ${actual}, expected ${expected}`);
}

function readVarint(reader: protobuf.Reader, name: string): void {
  const start = reader.pos;
  reader.skipType(0);
  if (reader.pos - start > 10) throw new Error(`field ${name} has an overlong varint`);
}

function skipUnknown(reader: protobuf.Reader, wireType: number): void {
  // Unknown fields are kept for forward compatibility; groups (3, 4) are not proto3 and 6, 7 do not exist.
  if (wireType === 3 || wireType === 4 || wireType > 5) throw new Error(`unsupported wire type ${wireType}`);
  reader.skipType(wireType);
}
