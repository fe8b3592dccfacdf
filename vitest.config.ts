import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel processes, but not more than the machine has.
    pool: 'forks',
    maxWorkers: 2,
  },
});
