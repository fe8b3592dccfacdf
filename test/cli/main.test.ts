import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/iotctl.js', import.meta.url).pathname;

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
});
