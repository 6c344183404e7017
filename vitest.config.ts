import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real HTTP servers on port 0; files run in parallel workers.
    pool: 'forks',
    // Request logs would drown the test report; tests that check logging give the hub their own logger.
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
  },
});
