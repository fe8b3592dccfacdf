/**
 * Builds the web console into console/dist (`npm run build:console`). With --if-stale (what
 * `npm start` passes) it builds only when the build is missing or older than a source file, so
 * a fresh clone gets its console on the first start and later starts cost nothing.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const consoleDir = join(root, 'console');
const builtIndex = join(consoleDir, 'dist', 'index.html');

/** What the bundle is made from: a newer file here means the build is stale. */
const SOURCES = [
  join(consoleDir, 'src'),
  join(consoleDir, 'index.html'),
  join(consoleDir, 'vite.config.ts'),
  join(root, 'src', 'contracts', 'console-config.ts'),
  join(root, 'src', 'generated', 'graphql', 'types.ts'),
  join(root, 'package-lock.json'),
];

function newest(path: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function isStale(): boolean {
  const built = newest(builtIndex);
  return built === 0 || SOURCES.some((source) => newest(source) > built);
}

const ifStale = process.argv.includes('--if-stale');
if (ifStale && !isStale()) {
  process.exit(0);
}
// A build started from a test run inherits NODE_ENV=test, which would ship React's development
// build; the console is always built for production.
process.env.NODE_ENV = 'production';
const started = performance.now();
console.log('[console] building the web console (console/dist)…');
await build({ configFile: join(consoleDir, 'vite.config.ts'), mode: 'production', logLevel: ifStale ? 'warn' : 'info' });
console.log(`[console] built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
