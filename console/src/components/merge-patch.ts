/** A JSON object (not an array, not null). */
export type JsonObject = { [key: string]: unknown };

/** Whether `value` is a JSON object. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON merge patch (RFC 7396) that turns `from` into `to`: changed keys carry their new
 * value, removed keys null, nested objects their own patch. The twin API takes patches, and the
 * console edits whole documents, so it sends the difference (and an empty patch when none).
 */
export function mergePatchBetween(from: JsonObject, to: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    const before = from[key];
    if (isJsonObject(before) && isJsonObject(value)) {
      const inner = mergePatchBetween(before, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (JSON.stringify(before) !== JSON.stringify(value)) {
      // A new object value is sent whole; a merge with nothing is the value itself.
      patch[key] = value;
    }
  }
  return patch;
}

/** The path of the first object member that is null ("light.level"), which a merge patch reads as "remove". */
export function firstNullPath(value: unknown, path: string[] = []): string | undefined {
  if (value === null) return path.join('.') || '(the document)';
  // Arrays are replaced whole by a merge patch, so nulls inside them are kept as values.
  if (isJsonObject(value)) {
    for (const [key, inner] of Object.entries(value)) {
      const found = firstNullPath(inner, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}
