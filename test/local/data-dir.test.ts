import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirSecret, lockDataDir } from '../../src/local/data-dir.js';
import { DataDirLockedError } from '../../src/local/startup-errors.js';

describe('data directory', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'iot-data-dir-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a lock held by a live process and names its pid', () => {
    // Prepare
    const dir = tempDir();
    writeFileSync(join(dir, 'lock'), `${process.ppid}\n`);

    // Act
    const act = () => lockDataDir(dir);

    // Assess
    expect(act).toThrow(DataDirLockedError);
    expect(act).toThrow(`pid ${process.ppid}`);
  });

  it('takes over a lock left by a process that is gone, and removes it on release', () => {
    // Prepare
    const dir = tempDir();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, 'lock'), `${gone}\n`);

    // Act
    const lock = lockDataDir(dir);
    const holder = readFileSync(join(dir, 'lock'), 'utf8').trim();
    lock.release();

    // Assess
    expect(holder).toBe(String(process.pid));
    expect(() => statSync(join(dir, 'lock'))).toThrow(/ENOENT/);
  });

  it('refuses a second lock on the same directory within one process', () => {
    // Prepare
    const dir = tempDir();
    const lock = lockDataDir(dir);

    // Act
    const act = () => lockDataDir(dir);

    // Assess
    expect(act).toThrow(DataDirLockedError);
    lock.release();
  });

  it('generates the secret once, private to the owner, and returns the same one afterwards', () => {
    // Prepare
    const dir = tempDir();

    // Act
    const first = dataDirSecret(dir);
    const second = dataDirSecret(dir);

    // Assess
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second).toBe(first);
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
  });
});
