/**
 * The local platform's data directory (`.local/` by default): a lock so that one platform at a
 * time uses it, and the page-token secret generated once and kept there.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLockedError } from './startup-errors.js';

/** Data directories locked by this process (a second platform in one process must fail too). */
const heldHere = new Set<string>();

/** Takes the lock on `dir` (created if needed); DataDirLockedError when a live process holds it. */
export function lockDataDir(dir: string): { release(): void } {
  mkdirSync(dir, { recursive: true });
  const lockFile = join(dir, 'lock');
  if (heldHere.has(dir)) throw new DataDirLockedError(dir, process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      const live = Number.isInteger(holder) && holder !== process.pid && isAlive(holder);
      if (live || attempt > 0) throw new DataDirLockedError(dir, holder);
      // Left behind by a platform that was killed: take it over.
      rmSync(lockFile, { force: true });
    }
  }
  heldHere.add(dir);
  return {
    release: () => {
      if (!heldHere.delete(dir)) return;
      rmSync(lockFile, { force: true });
    },
  };
}

/** The page-token secret kept in `<dir>/secret`, generated on first use (mode 0600). */
export function dataDirSecret(dir: string): string {
  const file = join(dir, 'secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomSecret();
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

/** A fresh random secret (ephemeral runs). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
