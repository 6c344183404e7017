import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Vite prefers graphql's .mjs build while Node (and so Apollo, @graphql-tools, @apollo/subgraph) loads index.js:
    // two copies of graphql-js in one process break its instanceof checks. Everyone gets the one Node loads.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
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
