/**
 * Bundles the gRPC service for the container: `dist/grpc/main.mjs` (the server) and
 * `dist/grpc/health-client.mjs` (the HEALTHCHECK probe), ESM for Node 20+, SDK included.
 * grpc-health-check and @grpc/reflection load their own .proto files relative to __dirname at
 * run time; the bundle rewrites those paths to `dist/grpc/proto/` and copies the files there.
 */
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Where `npm run build:grpc` writes the bundle. */
export const GRPC_DIST = join(ROOT, 'dist/grpc');

const RUNTIME_PROTO_LOADERS = /(grpc-health-check[\\/]build[\\/]src[\\/]health\.js|@grpc[\\/]reflection[\\/]build[\\/]src[\\/]implementations[\\/]reflection-v1(alpha)?\.js)$/;

const runtimeProtoPaths: Plugin = {
  name: 'runtime-proto-paths',
  setup(b) {
    b.onLoad({ filter: RUNTIME_PROTO_LOADERS }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replaceAll('/../../proto', '/proto').replaceAll("'../../proto/", "'proto/");
      if (contents === source) throw new Error(`${args.path}: runtime .proto path not found; update scripts/build-grpc.ts`);
      return { contents, loader: 'js' };
    });
  },
};

/** Bundles `entryPoints` (name -> source) into `outDir` as `<name>.mjs`, with the runtime .proto files. */
export async function bundleForNode(
  entryPoints: Record<string, string>,
  outDir: string,
  options: { sourcemap?: boolean; external?: string[]; minify?: boolean } = {},
): Promise<void> {
  await build({
    entryPoints,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: options.minify ?? true,
    sourcemap: options.sourcemap === false ? false : 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [runtimeProtoPaths],
    external: options.external ?? [],
    banner: {
      js: [
        "import { createRequire as __cr } from 'node:module';",
        "import { fileURLToPath as __fu } from 'node:url';",
        "import { dirname as __dn } from 'node:path';",
        'const require = __cr(import.meta.url);',
        'const __filename = __fu(import.meta.url);',
        'const __dirname = __dn(__filename);',
      ].join(''),
    },
  });
  const healthProto = join(dirname(require.resolve('grpc-health-check/package.json')), 'proto');
  const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc');
  mkdirSync(join(outDir, 'proto'), { recursive: true });
  cpSync(join(healthProto, 'health'), join(outDir, 'proto/health'), { recursive: true });
  cpSync(reflectionProto, join(outDir, 'proto/grpc'), { recursive: true });
}

/** Builds the service bundle into `outDir`. */
export async function buildGrpc(outDir: string = GRPC_DIST): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  await bundleForNode({ main: join(ROOT, 'src/grpc/main.ts'), 'health-client': join(ROOT, 'src/grpc/health-client.ts') }, outDir);
}

// Run as a script only (not when bundled into another entry point, e.g. bench/grpc.ts).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && import.meta.url.endsWith('build-grpc.ts')) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : GRPC_DIST;
  await buildGrpc(outDir);
  console.log(`bundled the gRPC service into ${outDir}`);
}
