/** What a JSON text box holds: the parsed value, or why it cannot be sent. */
export type JsonCheck = { readonly ok: true; readonly value: unknown; readonly bytes: number } | { readonly ok: false; readonly message: string };

/** Options of {@link checkJson}. */
export interface JsonRules {
  /** Largest UTF-8 size of the compact JSON the API takes. */
  readonly maxBytes: number;
  /** Only a JSON object will do (a twin document, a merge patch). */
  readonly object?: boolean;
}

const encoder = new TextEncoder();

/** "line 3, column 7" for an offset into `text`. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

/**
 * Checks a JSON text as the API will: it parses, is an object when one is needed, and its
 * compact form fits the API's size limit. Parse errors name the line and column where the
 * browser's parser gives a position, so a person can find the typo.
 */
export function checkJson(text: string, rules: JsonRules): JsonCheck {
  if (text.trim() === '') return { ok: false, message: 'Enter a JSON value' + (rules.object ? ' (an object, for example {})' : '') };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const raw = (error as Error).message;
    const position = /position (\d+)/.exec(raw);
    const where = position ? ` at ${lineAndColumn(text, Number(position[1]))}` : '';
    return { ok: false, message: `Not valid JSON${where}: ${raw.replace(/^JSON\.parse: /, '')}` };
  }
  if (rules.object && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    return { ok: false, message: 'Must be a JSON object ({ ... })' };
  }
  const bytes = encoder.encode(JSON.stringify(value)).length;
  if (bytes > rules.maxBytes) {
    return { ok: false, message: `Too large: ${formatBytes(bytes)} of at most ${formatBytes(rules.maxBytes)}` };
  }
  return { ok: true, value, bytes };
}

/** "512 bytes", "31.5 KB". */
export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`;
}

/** An AWSJSON value as the API sends it (a JSON text), parsed; anything else as it is. */
export function fromAwsJson(awsJson: unknown): unknown {
  if (typeof awsJson !== 'string') return awsJson;
  try {
    return JSON.parse(awsJson);
  } catch {
    return awsJson;
  }
}

/** An AWSJSON value pretty-printed for reading. */
export function prettyJson(awsJson: unknown): string {
  if (awsJson === null || awsJson === undefined) return '';
  return JSON.stringify(fromAwsJson(awsJson), null, 2);
}
