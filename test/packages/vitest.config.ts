import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Its own run (.ci/run's "packages" step): it installs from the npm registry, which `npm test` must not need.
export default defineConfig({
  test: {
    name: 'packages',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/packages/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
