import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // interop tests start real charon processes in network namespaces: give them room, run files serially there
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
