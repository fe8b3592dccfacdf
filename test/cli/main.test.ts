import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/iotctl.js', import.meta.url).pathname;
const BUNDLE = new URL('../../dist/cli/iotctl.mjs', import.meta.url).pathname;

describe('iotctl', () => {
  it('prints the package version and lists its commands, also when run from another directory', () => {
    // Prepare
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

    // Act
    const printed = execFileSync(process.execPath, [BIN, '--version'], { cwd: '/', encoding: 'utf8' });
    const help = execFileSync(process.execPath, [BIN, '--help'], { cwd: '/', encoding: 'utf8' });

    // Assess
    expect(printed.trim()).toBe(version);
    expect(help).toMatch(/^\s+local \[options\]/m);
  });

  it('runs as a program, and rebuilds its bundle when the bundle is older than a source', () => {
    // Prepare: a bundle from before any source was written.
    execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    const longAgo = new Date('2001-01-01T00:00:00Z');
    utimesSync(BUNDLE, longAgo, longAgo);

    // Act: run through its own first line, as `iotctl` and `npm start` do.
    const printed = execFileSync(BIN, ['--version'], { encoding: 'utf8' });

    // Assess
    expect(printed.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(statSync(BUNDLE).mtimeMs).toBeGreaterThan(longAgo.getTime());
  });
});
