import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC instead of esbuild: Nest's DI needs the decorator metadata esbuild does not emit.
const plugins = [swc.vite({ module: { type: 'es6' } })];

const e2e = (name: string, env: Record<string, string>) => ({
  plugins,
  test: {
    name,
    include: ['test/**/*.e2e-spec.ts'],
    env,
    // One app at a time: tests share a database server, and apps start and migrate it.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

export default defineConfig({
  test: {
    projects: [
      { plugins, test: { name: 'unit', include: ['src/**/*.spec.ts', 'packages/client/src/**/*.spec.ts', 'packages/receiver/src/**/*.spec.ts'] } },
      e2e('e2e-embedded', { E2E_DATABASE: 'embedded' }),
      // The same suite on a real PostgreSQL, where TEST_DATABASE_URL names one.
      ...(process.env.TEST_DATABASE_URL ? [e2e('e2e-postgres', { E2E_DATABASE: 'postgres' })] : []),
    ],
  },
});
