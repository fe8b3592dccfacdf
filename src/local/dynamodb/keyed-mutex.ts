/**
 * Serializes async work per key: holders of one key run one after another in call order,
 * different keys run concurrently. Locks over several keys are taken in sorted order so two
 * multi-key holders (BatchWriteItem) can never deadlock each other.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Waits until every key is free, holds them all, and returns the function that releases them. */
  async lock(keys: Iterable<string>): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const key of [...new Set(keys)].sort()) releases.push(await this.lockOne(key));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const release of releases.reverse()) release();
    };
  }

  /** How many keys are held or awaited right now (0 when idle). */
  get size(): number {
    return this.tails.size;
  }

  private async lockOne(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      // Only the last waiter's tail may be dropped; a later waiter has replaced it otherwise.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
