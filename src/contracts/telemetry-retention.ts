/**
 * How long telemetry is kept, per resolution, in days: raw readings and each rollup resolution
 * expire on their own (DynamoDB TTL on each item, from the end of what the item covers). Set
 * by CDK context (`-c telemetryRetentionDays=30 -c telemetryMinuteRetentionDays=90 ...`),
 * passed to the ingest function in its environment.
 */
import { VARIABLES } from './environment/variables.js';

/** Days kept per resolution. */
export interface TelemetryRetention {
  readonly raw: number;
  readonly minute: number;
  readonly hour: number;
  readonly day: number;
}

/** Defaults: raw 30 days, minute 90 days, hour 2 years, day 5 years. */
export const DEFAULT_TELEMETRY_RETENTION: TelemetryRetention = Object.freeze({ raw: 30, minute: 90, hour: 730, day: 1826 });

/** CDK context key per resolution. */
export const TELEMETRY_RETENTION_CONTEXT: Readonly<Record<keyof TelemetryRetention, string>> = Object.freeze({
  raw: 'telemetryRetentionDays',
  minute: 'telemetryMinuteRetentionDays',
  hour: 'telemetryHourRetentionDays',
  day: 'telemetryDayRetentionDays',
});

/** Environment variable per resolution. */
export const TELEMETRY_RETENTION_VARIABLES: Readonly<Record<keyof TelemetryRetention, string>> = Object.freeze({
  raw: VARIABLES.telemetryRetentionDays,
  minute: 'TELEMETRY_MINUTE_RETENTION_DAYS',
  hour: 'TELEMETRY_HOUR_RETENTION_DAYS',
  day: 'TELEMETRY_DAY_RETENTION_DAYS',
});

/** Most days any resolution may be kept (100 years). */
export const MAX_RETENTION_DAYS = 36_500;

/** Validated retention: each absent value from the defaults; throws naming the offending key. */
export function telemetryRetention(overrides: Partial<Record<keyof TelemetryRetention, unknown>> = {}): TelemetryRetention {
  const value = (key: keyof TelemetryRetention): number => {
    const raw = overrides[key];
    if (raw === undefined || raw === null || raw === '') return DEFAULT_TELEMETRY_RETENTION[key];
    const n = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_RETENTION_DAYS) {
      throw new Error(`${TELEMETRY_RETENTION_CONTEXT[key]} must be an integer in 1..${MAX_RETENTION_DAYS}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
  return { raw: value('raw'), minute: value('minute'), hour: value('hour'), day: value('day') };
}
