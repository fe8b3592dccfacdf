/** The local runtime's Logger: one readable line per entry, `<scope>: <message> {fields}`, from `minLevel` up. */
import { LOG_LEVELS, type LogFields, type Logger, type LogLevel } from '../../ports/logger.js';

/** A Logger that writes through `write` (the local platform's `log`). */
export function lineLogger(scope: string, write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  const threshold = LOG_LEVELS.indexOf(minLevel);
  const line = (level: LogLevel) => (message: string, ...extra: LogFields[]) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const fields = Object.assign({}, ...extra) as LogFields;
    const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields, errorsAsText)}` : '';
    write(`${scope}: ${level === 'info' ? '' : `${level.toUpperCase()} `}${message}${rest}`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

// JSON.stringify turns an Error into {}: keep what a reader needs.
function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? (value.stack ?? `${value.name}: ${value.message}`) : value;
}
