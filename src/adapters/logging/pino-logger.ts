/**
 * The gRPC service's Logger: pino writing JSON lines through an asynchronous destination, so a
 * busy call path never blocks on stdout. Secrets are censored before a line is built: known
 * credential fields by path, and anything shaped like a JWT or a PEM block in any top-level
 * string, so a token echoed into an error message does not reach the logs either.
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
      redact: { paths: [...REDACTED_PATHS], censor: REDACTED },
      formatters: { level: (label) => ({ level: label }), log: censorSecretShapes },
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

function censorSecretShapes(fields: Record<string, unknown>): Record<string, unknown> {
  let censored: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string' || !(value.includes('eyJ') || value.includes('-----BEGIN'))) continue;
    censored ??= { ...fields };
    censored[name] = value.replace(SECRET_SHAPES, REDACTED);
  }
  return censored ?? fields;
}
