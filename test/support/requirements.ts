import { existsSync } from 'node:fs';
import { onPostgres, realPostgresUrl } from './app.js';

// What a test may need beyond the in-process app on the run's database, and the one way to skip
// without it: `describe.skipIf(lacks('postgres', 'two instances on one database'))(…)` (or
// it.skipIf). The reason is printed once per case, so a skipped case is never silent.

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL;

const REQUIREMENTS = {
  postgres: {
    met: Boolean(realPostgresUrl),
    needs: 'a real PostgreSQL server: TEST_DATABASE_URL and the e2e-postgres project',
  },
  embedded: { met: !onPostgres, needs: 'the embedded database: the e2e-embedded project' },
  redis: { met: Boolean(TEST_REDIS_URL), needs: 'a real Redis: TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)' },
  unix: { met: process.platform !== 'win32', needs: 'Unix domain sockets (not Windows, where the embedded database serves on loopback TCP)' },
  chromium: { met: existsSync(CHROMIUM_PATH), needs: `Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)` },
};

export type Requirement = keyof typeof REQUIREMENTS;

/** True when this run lacks `requirement`, after saying what is skipped and what it needs. */
export function lacks(requirement: Requirement, what: string): boolean {
  const { met, needs } = REQUIREMENTS[requirement];
  if (!met) console.log(`skipped: ${what}: needs ${needs}`);
  return !met;
}
