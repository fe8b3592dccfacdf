/**
 * Checks a value against the subset of JSON Schema the alarm event schema uses (type, const,
 * enum, required, additionalProperties false, minimum, format date-time / uuid), so the tests
 * can hold real events to the documented schema without a validator dependency.
 */
type Schema = Record<string, any>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every way `value` breaks `schema`, as `path: problem` lines; empty when it conforms. */
export function schemaViolations(schema: Schema, value: unknown, path = '$'): string[] {
  const out: string[] = [];
  if ('const' in schema && value !== schema.const) out.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [...out, `${path}: not an object`];
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in record)) out.push(`${path}.${name}: required`);
    for (const [name, v] of Object.entries(record)) {
      const sub = schema.properties?.[name];
      if (!sub) {
        if (schema.additionalProperties === false) out.push(`${path}.${name}: not allowed`);
        continue;
      }
      out.push(...schemaViolations(sub, v, `${path}.${name}`));
    }
  }
  if (schema.type === 'string' && typeof value !== 'string') out.push(`${path}: not a string`);
  if (schema.type === 'integer' && !Number.isInteger(value)) out.push(`${path}: not an integer`);
  if (schema.type === 'number' && (typeof value !== 'number' || !Number.isFinite(value))) out.push(`${path}: not a number`);
  if (typeof schema.minimum === 'number' && typeof value === 'number' && value < schema.minimum) out.push(`${path}: below ${schema.minimum}`);
  if (schema.format === 'date-time' && (typeof value !== 'string' || Number.isNaN(Date.parse(value)) || !/T.*(Z|[+-]\d\d:\d\d)$/.test(value))) out.push(`${path}: not a date-time`);
  if (schema.format === 'uuid' && (typeof value !== 'string' || !UUID.test(value))) out.push(`${path}: not a uuid`);
  return out;
}
