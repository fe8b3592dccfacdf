/**
 * The one reader of environment variables: every function, the gRPC service and the local
 * runtime read their settings through it, so a missing or malformed variable always fails
 * fast with the same typed error naming the variable.
 */

/** The environment as a process sees it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A configuration problem, naming the variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';

  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Typed accessors over one environment; each throws ConfigError naming the variable. */
export interface ConfigReader {
  /** The trimmed value; throws when unset or blank. */
  required(name: string): string;
  /** The trimmed value, or undefined when unset or blank. */
  optional(name: string): string | undefined;
  /** An integer in min..max, or `fallback` when unset. */
  integer(name: string, range: { readonly fallback: number; readonly min: number; readonly max: number }): number;
  /** `true` or `false`, or `fallback` when unset. */
  boolean(name: string, fallback: boolean): boolean;
  /** One of `choices`; throws when unset or anything else. */
  oneOf<T extends string>(name: string, choices: readonly T[]): T;
}

/** A reader over `env`. */
export function configReader(env: Environment): ConfigReader {
  const optional = (name: string): string | undefined => env[name]?.trim() || undefined;
  const required = (name: string): string => {
    const value = optional(name);
    if (value === undefined) throw new ConfigError(name, 'is required');
    return value;
  };
  return {
    required,
    optional,
    integer(name, { fallback, min, max }) {
      const raw = optional(name);
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, `must be an integer in ${min}..${max}, got ${quote(raw)}`);
      return n;
    },
    boolean(name, fallback) {
      const raw = optional(name);
      if (raw === undefined) return fallback;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw new ConfigError(name, `must be true or false, got ${quote(raw)}`);
    },
    oneOf(name, choices) {
      const raw = required(name);
      if (!(choices as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${choices.join(', ')}, got ${quote(raw)}`);
      return raw as (typeof choices)[number];
    },
  };
}

// A misdeployed value can be anything, a secret included: show only its start.
const quote = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
