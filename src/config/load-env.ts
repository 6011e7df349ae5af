import { existsSync } from 'node:fs';
import { type Env, validateEnv } from './env.validation.js';

/** `.env` fills in only what the real environment leaves unset. */
export function loadEnv(overrides: Record<string, string | undefined> = {}, { envFile = '.env', signsTokens = true } = {}): Env {
  if (envFile && existsSync(envFile)) process.loadEnvFile(envFile);
  return validateEnv({ ...process.env, ...overrides }, { signsTokens });
}
