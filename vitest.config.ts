import { defineConfig } from 'vitest/config';

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
