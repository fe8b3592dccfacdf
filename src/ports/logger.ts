/**
 * The one logger port of every door: Powertools Logger in the Lambdas (it fits as is), pino in
 * the gRPC service, a line logger in the local runtime. Fields are structured, never
 * interpolated into the message, so log queries can filter on them.
 */

/** Structured fields of one log line; an Error value is logged with its name, message and stack. */
export type LogFields = Readonly<Record<string, unknown>>;

export { LOG_LEVELS, type LogLevel } from '../contracts/log-levels.js';

/** Writes structured log lines; callers pass at most one fields object (rest form so Powertools Logger fits as is). */
export interface Logger {
  debug(message: string, ...fields: LogFields[]): void;
  info(message: string, ...fields: LogFields[]): void;
  warn(message: string, ...fields: LogFields[]): void;
  error(message: string, ...fields: LogFields[]): void;
}
