/**
 * The gRPC service's Logger: pino writing JSON lines through an asynchronous destination, so a
 * busy call path never blocks on stdout. Secrets are censored before a line is built: known
 * credential fields by path, and anything shaped like a JWT or a PEM block in any top-level
 * string, so a token echoed into an error message does not reach the logs either.
 *
 * The paths are checked by the same hook as the shapes rather than by pino's `redact`: its
 * wildcard paths made building a line ~3x dearer, and the service writes one per call.
 */
import pino, { type DestinationStream } from 'pino';
import type { LogLevel } from '../../contracts/log-levels.js';
import type { LogFields, Logger } from '../../ports/logger.js';

/** What stands in for a censored value. */
export const REDACTED = '[redacted]';

/** Field paths whose values never reach a log line (HTTP/gRPC authorization, tokens, keys, certificates). */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'metadata.authorization',
  '*.authorization',
  'token',
  'accessToken',
  'idToken',
  'refreshToken',
  '*.token',
  '*.accessToken',
  'password',
  'secret',
  'privateKey',
  'privateKeyPem',
  '*.privateKeyPem',
  'certificate',
  'certificatePem',
  '*.certificatePem',
  'cert',
  'key',
] as const;

// A JWT or any cut-off part of one (base64url starting like a JSON object), or a PEM block.
const SECRET_SHAPES = /eyJ[\w-]{6,}(?:\.[\w-]*){0,2}|-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)/g;

/** A Logger that can also flush what its asynchronous destination still buffers. */
export interface FlushableLogger extends Logger {
  /** Resolves once every line written so far has reached the destination. */
  flush(): Promise<void>;
}

/** Options of {@link pinoLogger}. */
export interface PinoLoggerOptions {
  /** Lines below this severity are dropped. */
  readonly level: LogLevel;
  /** @default an asynchronous destination on stdout */
  readonly destination?: DestinationStream;
}

/** The service's logger; call `flush()` before the process exits so no buffered line is lost. */
export function pinoLogger(options: PinoLoggerOptions): FlushableLogger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level: options.level,
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: censorSecrets },
      serializers: { error: pino.stdSerializers.err, err: pino.stdSerializers.err },
    },
    destination,
  );
  const at =
    (level: LogLevel) =>
    (message: string, ...fields: LogFields[]): void => {
      if (!logger.isLevelEnabled(level)) return;
      logger[level](fields.length === 1 ? fields[0] : Object.assign({}, ...fields), message);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    flush: () =>
      new Promise<void>((resolve, reject) => {
        logger.flush((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Top-level field names censored whole. */
const SECRET_FIELDS = new Set<string>(REDACTED_PATHS.filter((path) => !path.includes('.')));
/** Names censored inside any top-level object ('*.name'), or inside one named object ('parent.name'). */
const NESTED_SECRET_FIELDS = new Map<string, readonly string[]>();
for (const path of REDACTED_PATHS) {
  const [parent, name] = path.split('.');
  if (name !== undefined) NESTED_SECRET_FIELDS.set(parent!, [...(NESTED_SECRET_FIELDS.get(parent!) ?? []), name]);
}
const ANY_PARENT_SECRET_FIELDS = NESTED_SECRET_FIELDS.get('*') ?? [];

function censorSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  let censored: Record<string, unknown> | undefined;
  for (const name in fields) {
    const value = fields[name];
    if (value === undefined) continue;
    let replacement: unknown = value;
    if (SECRET_FIELDS.has(name)) replacement = REDACTED;
    else if (typeof value === 'string') {
      if (value.includes('eyJ') || value.includes('-----BEGIN')) replacement = value.replace(SECRET_SHAPES, REDACTED);
    } else if (typeof value === 'object' && value !== null) replacement = censorNested(name, value as Record<string, unknown>);
    if (replacement === value) continue;
    censored ??= { ...fields };
    censored[name] = replacement;
  }
  return censored ?? fields;
}

/** `value` with its secret fields censored (a copy), or `value` itself when it has none. */
function censorNested(parent: string, value: Record<string, unknown>): unknown {
  const names = NESTED_SECRET_FIELDS.get(parent);
  let copy: Record<string, unknown> | undefined;
  for (const name of names ? [...ANY_PARENT_SECRET_FIELDS, ...names] : ANY_PARENT_SECRET_FIELDS) {
    if (!Object.hasOwn(value, name) || value[name] === undefined) continue;
    // An Error's copy keeps its prototype and its non-enumerable message and stack for the serializer.
    copy ??= value instanceof Error ? (Object.defineProperties(Object.create(Object.getPrototypeOf(value)), Object.getOwnPropertyDescriptors(value)) as Record<string, unknown>) : { ...value };
    copy[name] = REDACTED;
  }
  return copy ?? value;
}
