/**
 * A strict check of protobuf wire bytes against a message type, run before decoding.
 * protobufjs' decoder does not check wire types (a varint where a string belongs is read as a
 * length) and replaces invalid UTF-8 silently; proto3 requires valid UTF-8 in strings. This walks
 * the bytes once and throws on anything a conforming encoder could not have produced.
 */
import protobuf from 'protobufjs';

const MAX_DEPTH = 32;

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Throws an Error naming the problem when `bytes` is not a well-formed `type`. */
export function checkWire(type: protobuf.Type, bytes: Uint8Array): void {
  const reader = protobuf.Reader.create(bytes);
  checkMessage(type, reader, bytes.length, 0);
}

function checkMessage(type: protobuf.Type, reader: protobuf.Reader, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error(`message nested deeper than ${MAX_DEPTH}`);
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
      checkMapEntry(field, reader, depth);
    } else {
      checkValue(field, field.type, field.resolvedType, wireType, reader, depth);
    }
    if (reader.pos > end) throw new Error(`field ${field.name} overruns its message`);
  }
}

function checkValue(
  field: protobuf.FieldBase,
  scalar: string,
  resolved: protobuf.Type | protobuf.Enum | null,
  wireType: number,
  reader: protobuf.Reader,
  depth: number,
): void {
  if (resolved instanceof protobuf.Type) {
    expectWireType(field, wireType, 2);
    const length = reader.uint32();
    const end = reader.pos + length;
    if (end > reader.len) throw new Error(`field ${field.name} overruns the buffer`);
    checkMessage(resolved, reader, end, depth + 1);
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

function checkMapEntry(field: protobuf.MapField, reader: protobuf.Reader, depth: number): void {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new Error(`map ${field.name} overruns the buffer`);
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1:
        checkValue(field, field.keyType, null, wireType, reader, depth);
        break;
      case 2:
        checkValue(field, field.type, field.resolvedType, wireType, reader, depth);
        break;
      default:
        skipUnknown(reader, wireType);
    }
  }
  if (reader.pos !== end) throw new Error(`map ${field.name} has a bad entry length`);
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
