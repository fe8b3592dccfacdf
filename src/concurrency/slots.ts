/**
 * A counting semaphore with first-come, first-served waiting: at most `limit` holders at once.
 * What bounds work that is started and then runs on its own (a queue with backpressure: the
 * caller that cannot get a slot waits instead of adding to memory).
 */
export class Slots {
  private held = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`A slot limit must be a positive integer, got ${limit}`);
  }

  /** Slots taken now. */
  get inUse(): number {
    return this.held;
  }

  /** Callers waiting for a slot now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with the slot's release function once a slot is free (in call order). */
  async acquire(): Promise<() => void> {
    if (this.held >= this.limit || this.waiters.length > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.held += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next();
      else this.held -= 1;
    };
  }
}
