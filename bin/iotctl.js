#!/usr/bin/env -S node --max-semi-space-size=4
// Package bin: the iotctl CLI, runnable right after npm ci.
//
// It runs dist/cli/iotctl.mjs, one esbuild bundle of src/cli/main.ts and the sources it imports
// (npm packages stay external). The bundle is built here first when it is missing or older than
// any file it was built from, in about half a second, so an edit under src/ takes effect on the
// next run. A TypeScript loader would do the same without a build, but it keeps each transpiled
// module with an inline source map and, on Node 20, runs in a V8 isolate of its own: about
// 20 MB more for `iotctl local`. Stack traces name the bundle's lines; run node with
// --enable-source-maps to see src/ positions through dist/cli/iotctl.mjs.map.
//
// --max-semi-space-size=4 caps V8's young generation at 4 MB per semi-space instead of 16: under
// device load `iotctl local` otherwise keeps 32 MB of young generation resident, for no gain in
// throughput (docs/runbook.md, "Memory of the local platform"). It takes effect when this file is
// run as a program (`iotctl`, `npx iotctl`, `npm start`); `node bin/iotctl.js` runs without it.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'src', 'cli', 'main.ts');
const bundle = join(root, 'dist', 'cli', 'iotctl.mjs');
// The files the bundle was built from, relative to the root, written beside it.
const inputsFile = `${bundle}.inputs.json`;
// Not an import of the bundle, but read by esbuild for every source.
const BUILD_SETTINGS = ['tsconfig.json'];

function isCurrent() {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
    return inputs.every((input) => statSync(join(root, input)).mtimeMs <= built);
  } catch {
    // Missing bundle, missing or unreadable input list, or a source that no longer exists.
    return false;
  }
}

async function build() {
  const { buildSync } = await import('esbuild');
  const result = buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    write: false,
    logLevel: 'error',
  });
  const inputs = [...Object.keys(result.metafile.inputs), ...BUILD_SETTINGS];
  const outputs = [...result.outputFiles.map((file) => [file.path, file.contents]), [inputsFile, JSON.stringify(inputs)]];
  // Each file is written under a name of this process's own and renamed into place, so two
  // commands started together never read a half-written bundle. The bundle goes last: its time
  // is what the inputs are compared with.
  outputs.sort(([a], [b]) => (a === bundle) - (b === bundle));
  mkdirSync(dirname(bundle), { recursive: true });
  for (const [path, contents] of outputs) {
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, contents);
      renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
  }
}

if (!isCurrent()) {
  try {
    await build();
  } catch (error) {
    // esbuild has printed its own messages (file, line, column) for a compile error.
    console.error(`iotctl: cannot build ${relative(root, bundle)} from ${relative(root, entry)}: ${error.message.split('\n')[0]}`);
    process.exit(1);
  }
}
await import(pathToFileURL(bundle).href);
