/**
 * The twin's documents as pure functions: JSON merge patch (RFC 7396) with per-key metadata,
 * the delta between desired and reported, and the limits. No I/O here: the twin service
 * reads, applies these and writes conditionally.
 */
import { ValidationError } from '../domain/errors.js';
import { isJsonObject, jsonBytes, jsonDepth, type Json, type JsonObject } from '../domain/json-document.js';
import { MAX_TWIN_DOCUMENT_BYTES } from '../contracts/device-control-limits.js';

export { MAX_TWIN_DOCUMENT_BYTES };
/** Deepest nesting of a document or a patch. */
export const MAX_TWIN_DEPTH = 8;
/**
 * Most values (non-object leaves) in one document. Every leaf carries metadata in the same
 * DynamoDB item as both documents, so this keeps the item well under DynamoDB's 400 KB.
 */
export const MAX_TWIN_LEAVES = 2000;

/** When a leaf was last set and the twin version of that write, stored compactly as [version, epoch ms]. */
export type StoredLeafMeta = [number, number];

/** Metadata mirroring a document's objects; each leaf key holds its StoredLeafMeta. */
export interface StoredMetaTree {
  [key: string]: StoredLeafMeta | StoredMetaTree;
}

/** A leaf's metadata as the doors show it. */
export interface LeafMetadata {
  readonly updatedAt: string;
  readonly version: number;
}

/** Metadata as the doors show it: the document's shape, with LeafMetadata at every value. */
export interface MetadataTree {
  [key: string]: LeafMetadata | MetadataTree;
}

/** One side of the twin with its metadata. */
export interface TwinSide {
  readonly document: JsonObject;
  readonly metadata: StoredMetaTree;
}

/** Which document a patch is for (names the field in errors). */
export type TwinSideName = 'desired' | 'reported';

/**
 * Applies a merge patch to one side, stamping every key the patch sets with (version, at).
 * Returns undefined when the patch changes no value (a redelivered report), so the caller
 * writes nothing. ValidationError when the result breaks a limit.
 */
export function applyMergePatch(side: TwinSide, patch: JsonObject, version: number, at: number, name: TwinSideName): TwinSide | undefined {
  const document = structuredClone(side.document);
  const metadata = structuredClone(side.metadata);
  const changed = patchInto(document, metadata, patch, [version, at]);
  if (!changed) return undefined;
  checkDocument(document, name);
  return { document, metadata };
}

/** Enforces the size, depth and leaf limits on a document; ValidationError naming the side. */
export function checkDocument(document: JsonObject, name: TwinSideName): void {
  const bytes = jsonBytes(document);
  if (bytes > MAX_TWIN_DOCUMENT_BYTES) {
    throw new ValidationError(`${name} would be ${bytes} bytes; a twin document holds at most ${MAX_TWIN_DOCUMENT_BYTES} bytes of JSON`, 'patch');
  }
  const depth = jsonDepth(document);
  if (depth > MAX_TWIN_DEPTH) throw new ValidationError(`${name} would be nested ${depth} levels; at most ${MAX_TWIN_DEPTH} are allowed`, 'patch');
  const leaves = countLeaves(document);
  if (leaves > MAX_TWIN_LEAVES) throw new ValidationError(`${name} would hold ${leaves} values; at most ${MAX_TWIN_LEAVES} are allowed`, 'patch');
}

/** The desired keys whose value differs from reported (recursing into objects present in both). */
export function computeDelta(desired: JsonObject, reported: JsonObject): JsonObject {
  const delta: JsonObject = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = Object.hasOwn(reported, key) ? reported[key] : undefined;
    if (isJsonObject(want) && isJsonObject(have)) {
      const inner = computeDelta(want, have);
      if (Object.keys(inner).length > 0) setOwn(delta, key, inner);
    } else if (have === undefined || !jsonEqual(want, have)) {
      setOwn(delta, key, want);
    }
  }
  return delta;
}

/** Stored metadata as the doors show it. */
export function toMetadataTree(stored: StoredMetaTree): MetadataTree {
  const tree: MetadataTree = {};
  for (const [key, value] of Object.entries(stored)) {
    const shown = Array.isArray(value) ? { version: value[0], updatedAt: new Date(value[1]).toISOString() } : toMetadataTree(value);
    Object.defineProperty(tree, key, { value: shown, enumerable: true, writable: true, configurable: true });
  }
  return tree;
}

/** Deep equality of JSON values (object key order does not matter). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]!));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key]!, b[key]!));
}

function patchInto(target: JsonObject, meta: StoredMetaTree, patch: JsonObject, stamp: StoredLeafMeta): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(patch)) {
    const present = Object.hasOwn(target, key);
    if (value === null) {
      if (present) {
        delete target[key];
        changed = true;
      }
      delete meta[key];
    } else if (isJsonObject(value)) {
      // RFC 7396: patching with an object replaces a non-object value by an object first.
      if (!present || !isJsonObject(target[key])) {
        setOwn(target, key, {});
        changed = true;
      }
      const existing = Object.hasOwn(meta, key) ? meta[key] : undefined;
      const childMeta = existing && !Array.isArray(existing) ? existing : {};
      Object.defineProperty(meta, key, { value: childMeta, enumerable: true, writable: true, configurable: true });
      if (patchInto(target[key] as JsonObject, childMeta, value, stamp)) changed = true;
    } else {
      if (!present || !jsonEqual(target[key]!, value)) {
        setOwn(target, key, value);
        Object.defineProperty(meta, key, { value: stamp, enumerable: true, writable: true, configurable: true });
        changed = true;
      }
    }
  }
  return changed;
}

function countLeaves(value: Json): number {
  if (!isJsonObject(value)) return 1;
  let n = 0;
  for (const child of Object.values(value)) n += countLeaves(child);
  return n;
}

function setOwn(target: JsonObject, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
