/** Log severities, lowest first: the values a LOG_LEVEL variable may take, set by the stack and read by the runtime. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A severity. */
export type LogLevel = (typeof LOG_LEVELS)[number];
