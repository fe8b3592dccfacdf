import type { Construct } from 'constructs';

/**
 * A positive integer context flag (`-c name=N`), `off` for none, or `fallback` when absent; any
 * other value stops the synth naming the flag.
 */
export function integerContextFlag(scope: Construct, name: string, fallback: number | undefined, range: { min: number; max: number }): number | undefined {
  const raw: unknown = scope.node.tryGetContext(name);
  if (raw === undefined) return fallback;
  if (raw === 'off') return undefined;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new Error(`Invalid context flag ${name}=${JSON.stringify(raw)}: use an integer from ${range.min} to ${range.max}, or off`);
  }
  return value;
}

/** A context flag that is one of `choices`, or `fallback` when absent; anything else stops the synth naming the flag. */
export function choiceContextFlag<T extends string>(scope: Construct, name: string, choices: readonly T[], fallback: T): T {
  const raw: unknown = scope.node.tryGetContext(name);
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) {
    throw new Error(`Invalid context flag ${name}=${JSON.stringify(raw)}: use ${choices.map((c) => `-c ${name}=${c}`).join(' or ')}`);
  }
  return raw as T;
}

/**
 * A comma-separated list of absolute URLs (`-c name=https://a/,https://b/`), or `fallback` when
 * absent: https everywhere, http only for localhost (as Cognito allows).
 */
export function urlListContextFlag(scope: Construct, name: string, fallback: readonly string[]): string[] {
  const raw: unknown = scope.node.tryGetContext(name);
  if (raw === undefined) return [...fallback];
  const urls = typeof raw === 'string' ? raw.split(',').map((u) => u.trim()).filter(Boolean) : [];
  const valid = (url: string): boolean => {
    try {
      const { protocol, hostname } = new URL(url);
      return protocol === 'https:' || (protocol === 'http:' && (hostname === 'localhost' || hostname === '127.0.0.1'));
    } catch {
      return false;
    }
  };
  if (urls.length === 0 || !urls.every(valid)) {
    throw new Error(`Invalid context flag ${name}=${JSON.stringify(raw)}: use comma-separated https URLs (http only for localhost)`);
  }
  return urls;
}
