/**
 * The rules as the ingest path and the scheduler see them: read from the store at most once per
 * `maxAgeMs`, so a batch costs no rule reads. Staleness is bounded by that age: a rule created,
 * changed or deleted is evaluated (or no longer) within ALARM_RULE_CACHE_MS everywhere.
 */
import type { AlarmRule } from './alarm-rule.js';
import type { AlarmStore } from './alarm-store.js';

/** Longest a process evaluates with rules it read earlier: 60 s. */
export const ALARM_RULE_CACHE_MS = 60_000;

/** Where the evaluator gets its rules from. */
export interface RuleSource {
  rules(): Promise<readonly AlarmRule[]>;
  /** Forget what was read (a door in the same process changed a rule). */
  invalidate(): void;
}

/** A {@link RuleSource} over the store with bounded staleness; concurrent callers share one read. */
export class CachedRules implements RuleSource {
  private cached: { at: number; rules: Promise<readonly AlarmRule[]> } | undefined;

  constructor(
    private readonly store: Pick<AlarmStore, 'listRules'>,
    private readonly maxAgeMs = ALARM_RULE_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  rules(): Promise<readonly AlarmRule[]> {
    const now = this.now();
    if (!this.cached || now - this.cached.at >= this.maxAgeMs) {
      const rules = this.store.listRules();
      this.cached = { at: now, rules };
      // A failed read is not kept: the next batch tries again.
      rules.catch(() => {
        if (this.cached?.rules === rules) this.cached = undefined;
      });
    }
    return this.cached.rules;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
