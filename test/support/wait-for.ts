/** Waiting on eventual consistency in tests: poll until the condition holds, never a fixed sleep. */

/** Polls `probe` every 50 ms until it returns a value, and returns it; fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
