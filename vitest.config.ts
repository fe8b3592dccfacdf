import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LEAN_AWS_CLIENTS } from './lib/lean-aws-clients.js';

/** The Lambda bundles' substitution of the SDK packages, as vite aliases (exact package names only). */
const leanAliases = Object.entries(LEAN_AWS_CLIENTS).map(([find, path]) => ({
  find: new RegExp(`^${find.replace(/[/.-]/g, '\\$&')}$`),
  replacement: fileURLToPath(new URL(`./${path}`, import.meta.url)),
}));

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel processes, but not more than the machine has.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'platform', include: ['test/**/*.test.ts'], environment: 'node', globalSetup: ['test/console/build-setup.ts'] } },
      {
        extends: true,
        resolve: { alias: leanAliases },
        test: {
          // The adapters' own tests again, through the lean AWS clients the Lambda bundles carry
          // instead of the SDK (against dynalite and local endpoints, like the SDK run), and every
          // Lambda module logging through them.
          name: 'lean-aws',
          include: [
            'test/adapters/*-contract.test.ts',
            'test/adapters/contract/*.test.ts',
            'test/adapters/dynamodb/*.test.ts',
            'test/adapters/telemetry/*.test.ts',
            'test/adapters/sqs/sqs-*.test.ts',
            'test/lambdas/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          // React components in happy-dom, against a real local platform started once in Node
          // (a DOM environment loads modules as browser code, which the platform is not).
          name: 'console',
          include: ['test/**/*.test.tsx'],
          environment: 'happy-dom',
          globalSetup: ['test/console/components/platform-setup.ts'],
          setupFiles: ['test/console/components/testing-library-setup.ts'],
        },
      },
    ],
  },
});
