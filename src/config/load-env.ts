import { existsSync } from 'node:fs';
import { type Env, validateEnv } from './env.validation.js';

/**
 * The environment, with `.env` filling in what the real environment leaves unset, validated once.
 * Throws one line naming the offending variable.
 */
export function loadEnv(overrides: Record<string, string | undefined> = {}, { envFile = '.env', signsTokens = true } = {}): Env {
  if (envFile && existsSync(envFile)) process.loadEnvFile(envFile);
  return validateEnv({ ...process.env, ...overrides }, { signsTokens });
}

/**
 * `TRUST_PROXY` with Express's meaning, as Fastify's `trustProxy`; unset: X-Forwarded-For is
 * ignored. A number is a hop count, which Fastify itself no longer accepts, hence the function.
 */
export function trustProxyOf(env: Pick<Env, 'TRUST_PROXY'>): boolean | string | ((address: string, hop: number) => boolean) {
  const value = env.TRUST_PROXY?.trim();
  if (!value || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value;
}
