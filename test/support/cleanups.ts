/** Undo steps a test registers as it builds its fixture, run after each test in reverse order. */
import { afterEach } from 'vitest';

/** A step that undoes part of a test's fixture. */
export type Cleanup = () => Promise<unknown> | unknown;

/** Registers an afterEach that runs the steps pushed onto the returned list, last first, and resets the exit code a command set. */
export function useCleanups(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    process.exitCode = undefined;
  });
  return cleanups;
}
