import { defineConfig } from 'vitest/config';

// Integration tests start real HAProxy/NGINX/Chromium processes; keep parallelism
// modest so the suite fits two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
