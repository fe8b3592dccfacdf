/**
 * Global setup of the platform tests: the stack tests synthesize the Console construct, which
 * uploads console/dist, so the console is built first when it is missing or stale (what `npm
 * start` and `cdk synth` do too); a fresh build takes a few seconds, an up-to-date one nothing.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'scripts', 'build-console.ts'), '--if-stale'], { cwd: root });
}
