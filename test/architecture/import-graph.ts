/** Reads the static import graph of the repository's TypeScript, for the layering tests. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

/** One import of one file: a repository path (`src/x.ts`) or a package name (`graphql`, `@aws-sdk/client-sqs`). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: 'file' | 'package';
}

// `import x from '...'`, `import '...'`, `export ... from '...'`, `import('...')`; type-only imports too:
// they still tie the modules together for a reader and for the CDK's TypeScript compile.
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import of a TypeScript source text, comments removed first. */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(SPECIFIER)].map((m) => (m[1] ?? m[2])!);
}

/** The package a bare specifier names (`@scope/name` or `name`), or undefined for a Node built-in. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The edges of one file under `root` (path relative to root). */
export function edgesOf(root: string, file: string): ImportEdge[] {
  const source = readFileSync(join(root, file), 'utf8');
  return importSpecifiers(source).flatMap((specifier): ImportEdge[] => {
    if (specifier.startsWith('.')) {
      const target = resolveFile(resolve(root, dirname(file), specifier));
      return target ? [{ from: file, to: relative(root, target), kind: 'file' }] : [];
    }
    const name = packageName(specifier);
    return name ? [{ from: file, to: name, kind: 'package' }] : [];
  });
}

/** Every `.ts` file below `dir` (relative to root), skipping generated protobuf and node_modules. */
export function sourceFiles(root: string, dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(root, path);
    return /\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files reachable from `starts` through relative imports, with the packages each imports. */
export function closure(root: string, starts: readonly string[]): Map<string, ImportEdge[]> {
  const seen = new Map<string, ImportEdge[]>();
  const queue = [...starts];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const edges = edgesOf(root, file);
    seen.set(file, edges);
    for (const edge of edges) if (edge.kind === 'file') queue.push(edge.to);
  }
  return seen;
}

// Sources import `./x.js` for `./x.ts` (NodeNext); also accept extensionless and index files.
function resolveFile(path: string): string | undefined {
  const candidates = [path, path.replace(/\.js$/, '.ts'), path.replace(/\.js$/, '.tsx'), `${path}.ts`, join(path, 'index.ts')];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

/** The layering rules of the repository; each returns human-readable violations. */
export const RULES = {
  /** lib/ and the CDK app import from src/ only src/contracts/. */
  infrastructureImportsOnlyContracts(root: string): string[] {
    const files = [...sourceFiles(root, 'lib'), ...sourceFiles(root, 'bin').filter((f) => f !== 'bin/iotctl.js')];
    return files.flatMap((file) =>
      edgesOf(root, file)
        .filter((e) => e.kind === 'file' && e.to.startsWith('src/') && !e.to.startsWith('src/contracts/'))
        .map((e) => `${e.from} imports ${e.to}`),
    );
  },
  /** src/contracts/ and everything it imports use no package: no graphql, no AWS SDK, no aedes, no gRPC. */
  contractsImportNoRuntimeLibrary(root: string): string[] {
    const graph = closure(root, sourceFiles(root, 'src/contracts'));
    return [...graph.values()].flat().filter((e) => e.kind === 'package').map((e) => `${e.from} imports ${e.to}`);
  },
  /** Runtime code never imports the CDK. */
  runtimeImportsNoCdk(root: string): string[] {
    const files = [...sourceFiles(root, 'src'), ...sourceFiles(root, 'lambdas')];
    return files.flatMap((file) =>
      edgesOf(root, file)
        .filter((e) => e.kind === 'package' && (e.to === 'aws-cdk-lib' || e.to === 'constructs' || e.to.startsWith('@aws-cdk/')))
        .map((e) => `${e.from} imports ${e.to}`),
    );
  },
} as const;
