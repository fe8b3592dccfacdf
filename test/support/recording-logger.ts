/** The service's real pino Logger writing into an array, so tests read the lines production writes (redaction included). */
import type { LogLevel } from '../../src/contracts/log-levels.js';
import { pinoLogger, type FlushableLogger } from '../../src/adapters/logging/pino-logger.js';

/** A logger whose lines are parsed into `lines` as they are written (synchronously). */
export function recordingLogger(level: LogLevel = 'debug'): FlushableLogger & { readonly lines: Array<Record<string, unknown>>; readonly text: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  const logger = pinoLogger({
    level,
    destination: {
      write(line: string) {
        text.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return Object.assign(logger, { lines, text });
}

/** A logger that drops everything. */
export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
