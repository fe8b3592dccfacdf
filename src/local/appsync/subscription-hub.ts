/**
 * `@aws_subscribe` semantics in process: a subscription listens to the mutations its
 * directive lists, and receives a mutation's result when every argument it was given
 * (non-null) equals the same-named top-level field of that result.
 */
export class SubscriptionHub {
  private readonly listeners = new Set<{ mutations: ReadonlySet<string>; filter: Record<string, unknown>; push: (value: unknown) => void }>();

  /** Number of live subscriptions (for tests and the platform's status line). */
  get size(): number {
    return this.listeners.size;
  }

  /** An async iterator of matching mutation results; `return()` unsubscribes. */
  subscribe(mutations: readonly string[], filter: Record<string, unknown>): AsyncIterableIterator<unknown> {
    const queue: unknown[] = [];
    let waiting: ((result: IteratorResult<unknown>) => void) | undefined;
    let done = false;
    const listener = {
      mutations: new Set(mutations),
      filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== null && v !== undefined)),
      push: (value: unknown) => {
        if (waiting) {
          const resolve = waiting;
          waiting = undefined;
          resolve({ value, done: false });
        } else queue.push(value);
      },
    };
    this.listeners.add(listener);
    const finish = (): Promise<IteratorResult<unknown>> => {
      done = true;
      this.listeners.delete(listener);
      queue.length = 0;
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: finish,
      throw: async (error: unknown) => {
        await finish();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Delivers the result of a completed mutation to every matching subscription. */
  publish(mutation: string, result: unknown): void {
    if (result === null || typeof result !== 'object') return;
    const fields = result as Record<string, unknown>;
    for (const listener of this.listeners) {
      if (!listener.mutations.has(mutation)) continue;
      const matches = Object.entries(listener.filter).every(([name, expected]) => String(fields[name]) === String(expected));
      if (matches) listener.push(result);
    }
  }
}
