import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { type AppParts, createApp } from '../../src/app.factory.js';
import { loadEnv } from '../../src/config/load-env.js';

// The app under test, in this process: startApp() and which database the run uses.

/** Which database this run of the e2e suite uses (see vitest.config.ts). */
export const onPostgres = process.env.E2E_DATABASE === 'postgres';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
/** Set when the suite runs on a real server: the cases that need one say so when they skip. */
export const realPostgresUrl = onPostgres ? TEST_DATABASE_URL : undefined;

export const TEST_SECRET = 'e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const ISSUER = 'auth-backend';
export const AUDIENCE = 'auth-backend-clients';

export interface TestApp {
  app: NestFastifyApplication;
  http: () => ReturnType<typeof request>;
  dataSource: DataSource;
  close: () => Promise<void>;
}

/**
 * An app built through DI, as in production but on port-less supertest, with an in-memory
 * embedded database (or TEST_DATABASE_URL on the postgres run) and generous rate limits unless
 * a test asks otherwise. The real environment and `.env` do not leak in.
 */
export async function startApp(overrides: Record<string, string | undefined> = {}, parts: AppParts = {}): Promise<TestApp> {
  const env = loadEnv(
    {
      NODE_ENV: 'test',
      JWT_SECRET: TEST_SECRET,
      JWT_ACCESS_TTL: '900',
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      LOG_LEVEL: 'silent',
      PGLITE_DATA_DIR: 'memory://',
      DATABASE_URL: onPostgres ? TEST_DATABASE_URL : undefined,
      THROTTLE_LOGOUT_LIMIT: '1000',
      THROTTLE_LOGOUT_TTL: '60',
      THROTTLE_LOGIN_LIMIT: '1000',
      THROTTLE_LOGIN_TTL: '60',
      THROTTLE_REFRESH_LIMIT: '1000',
      THROTTLE_REFRESH_TTL: '60',
      THROTTLE_FORGOT_RECIPIENT_LIMIT: '1000',
      THROTTLE_INTROSPECTION_FAILURE_LIMIT: '1000',
      REDIS_URL: undefined,
      TRUST_PROXY: undefined,
      ...overrides,
    },
    { envFile: '' },
  );
  const app = await createApp(env, parts);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    http: () => request(app.getHttpServer()),
    dataSource: app.get(DataSource),
    close: () => app.close(),
  };
}

/** Anything requests can be sent to: an in-process app or a server process. */
export type HttpClient = Pick<TestApp, 'http'>;
