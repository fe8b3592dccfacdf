import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { importSpecifiers, RULES } from './import-graph.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('import boundaries of the repository', () => {
  it('lib/ imports nothing from src/ but src/contracts/', () => {
    expect(RULES.infrastructureImportsOnlyContracts(ROOT)).toEqual([]);
  });

  it('src/contracts/ and what it imports use no runtime library', () => {
    expect(RULES.contractsImportNoRuntimeLibrary(ROOT)).toEqual([]);
  });

  it('runtime code (src/, lambdas/) never imports the CDK', () => {
    expect(RULES.runtimeImportsNoCdk(ROOT)).toEqual([]);
  });
});

describe('the boundary rules catch violations', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  const tree = (files: Record<string, string>): string => {
    root = mkdtempSync(join(tmpdir(), 'import-graph-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, dirname(path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };

  it('reports lib/ reaching past src/contracts/', () => {
    // Prepare
    const dir = tree({
      'lib/stack.ts': "import { TABLE } from '../src/contracts/tables.js';\nimport { handler } from '../src/domain/registry.js';\n",
      'src/contracts/tables.ts': 'export const TABLE = 1;\n',
      'src/domain/registry.ts': 'export const handler = 1;\n',
    });

    // Act / Assess
    expect(RULES.infrastructureImportsOnlyContracts(dir)).toEqual(['lib/stack.ts imports src/domain/registry.ts']);
  });

  it('reports a runtime library in src/contracts/, directly, as a type, or through a file it imports', () => {
    // Prepare
    const dir = tree({
      'src/contracts/schema.ts': "import { parse } from 'graphql';\n",
      'src/contracts/tables.ts': "import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';\nimport { x } from '../support/helper.js';\n",
      'src/contracts/ok.ts': "import { join } from 'node:path';\nimport { readFileSync } from 'fs';\n",
      'src/support/helper.ts': "export { default as aedes } from 'aedes';\n",
    });

    // Act
    const violations = RULES.contractsImportNoRuntimeLibrary(dir).sort();

    // Assess
    expect(violations).toEqual([
      'src/contracts/schema.ts imports graphql',
      'src/contracts/tables.ts imports @aws-sdk/client-dynamodb',
      'src/support/helper.ts imports aedes',
    ]);
  });

  it('reports runtime code importing aws-cdk-lib', () => {
    // Prepare
    const dir = tree({ 'lambdas/x/index.ts': "import { Duration } from 'aws-cdk-lib';\n", 'src/ok.ts': "import { z } from './z.js';\n" });

    // Act / Assess
    expect(RULES.runtimeImportsNoCdk(dir)).toEqual(['lambdas/x/index.ts imports aws-cdk-lib']);
  });

  it('ignores imports inside comments and reads dynamic imports', () => {
    expect(importSpecifiers("// import 'graphql';\n/* import x from 'aedes' */\nconst m = await import('./m.js');\n")).toEqual(['./m.js']);
  });
});
