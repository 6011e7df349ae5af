import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request, { type Test as PendingRequest } from 'supertest';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory.js';
import { loadEnv } from '../../src/config/load-env.js';

/** Which database this run of the e2e suite uses (see vitest.config.ts). */
export const onPostgres = process.env.E2E_DATABASE === 'postgres';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
/** Set when the suite runs on a real server: the cases that need one say so when they skip. */
export const realPostgresUrl = onPostgres ? TEST_DATABASE_URL : undefined;

export const TEST_SECRET = 'e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const ISSUER = 'auth-backend';
export const AUDIENCE = 'auth-backend-clients';
export const API = '/api/v1/auth';

export const MESSAGES = {
  loggedOut: 'Sesión cerrada exitosamente',
  invalidRequest: 'Solicitud inválida',
  invalidToken: 'Token no proporcionado o inválido',
  expired: 'El token ha expirado',
  notFound: 'Recurso no encontrado',
  tooLarge: 'Solicitud demasiado grande',
  tooMany: 'Demasiadas solicitudes, intente más tarde',
  internal: 'Error interno del servidor',
  registered: 'Usuario registrado exitosamente',
  emailTaken: 'El correo ya está registrado',
  loggedIn: 'Inicio de sesión exitoso',
  badCredentials: 'Credenciales inválidas',
  refreshed: 'Token renovado exitosamente',
  sessions: 'Sesiones del usuario',
  passwordChanged: 'Contraseña actualizada exitosamente',
} as const;

/** The body of a failure answer with `message`, byte for byte. */
export const envelope = (message: string) => JSON.stringify({ success: false, message });

/** The one 401 body every token failure must answer with, byte for byte. */
export const INVALID_TOKEN_BODY = envelope(MESSAGES.invalidToken);
export const EXPIRED_BODY = envelope(MESSAGES.expired);
export const TOO_MANY_BODY = envelope(MESSAGES.tooMany);
export const BAD_CREDENTIALS_BODY = envelope(MESSAGES.badCredentials);
export const LOGGED_OUT_BODY = JSON.stringify({ success: true, message: MESSAGES.loggedOut });

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
export async function startApp(overrides: Record<string, string | undefined> = {}): Promise<TestApp> {
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
      REDIS_URL: undefined,
      TRUST_PROXY: undefined,
      ...overrides,
    },
    { envFile: '' },
  );
  const app = await createApp(env);
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

export interface LoggedIn {
  email: string;
  password: string;
  userId: string;
  token: string;
  sessionId: string;
}

export const uniqueEmail = () => `user-${randomUUID()}@example.com`;

/** Where a request comes from (X-Forwarded-For, which counts with TRUST_PROXY), and how long it may take. */
export interface RequestOptions {
  from?: string;
  timeout?: number;
}

const withOptions = (req: PendingRequest, { from, timeout }: RequestOptions): PendingRequest => {
  if (from !== undefined) req = req.set('X-Forwarded-For', from);
  if (timeout !== undefined) req = req.timeout(timeout);
  return req;
};

/** POST /logout, with the token as bearer when one is given; nothing is sent until awaited. */
export function logoutRequest(t: HttpClient, token?: string, options: RequestOptions = {}) {
  const req = withOptions(t.http().post(`${API}/logout`), options);
  return token === undefined ? req : req.set(bearer(token));
}

/** GET /me, with the token as bearer when one is given. */
export function meRequest(t: HttpClient, token?: string, options: RequestOptions = {}) {
  const req = withOptions(t.http().get(`${API}/me`), options);
  return token === undefined ? req : req.set(bearer(token));
}

/** POST /login with these credentials, whatever the answer. */
export function loginRequest(t: HttpClient, email: string, password: string, options: RequestOptions = {}) {
  return withOptions(t.http().post(`${API}/login`), options).send({ email, password });
}

export async function register(t: HttpClient, email = uniqueEmail(), password = 'password-123') {
  const res = await t.http().post(`${API}/register`).send({ email, password }).expect(201);
  return { email, password, userId: res.body.data.id as string };
}

export async function login(t: HttpClient, email: string, password: string): Promise<{ token: string; sessionId: string }> {
  const res = await loginRequest(t, email, password).expect(200);
  return { token: res.body.data.accessToken, sessionId: res.body.data.sessionId };
}

export async function registerAndLogin(t: HttpClient): Promise<LoggedIn> {
  const user = await register(t);
  return { ...user, ...(await login(t, user.email, user.password)) };
}

/** Signs arbitrary claims with the test secret (or another), for tokens the server never issued. */
export function signToken(
  claims: Record<string, unknown>,
  options: { secret?: string; algorithm?: 'HS256' | 'HS384' | 'HS512' } = {},
): string {
  return new JwtService().sign(claims, {
    secret: options.secret ?? TEST_SECRET,
    algorithm: options.algorithm ?? 'HS256',
  });
}

/** Claims like the server's own, for a user and session, valid for 15 minutes unless overridden. */
export function claimsFor(user: { userId: string; sessionId: string }, extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: user.userId,
    sid: user.sessionId,
    jti: randomUUID(),
    iat: now,
    exp: now + 900,
    iss: ISSUER,
    aud: AUDIENCE,
    ...extra,
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A logged-in user with the refresh token login gave (bearer mode). */
export interface WithRefresh extends LoggedIn {
  refreshToken: string;
}

/** Logs in and keeps the refresh token too. */
export async function loginWithRefresh(t: HttpClient, email: string, password: string) {
  const res = await loginRequest(t, email, password).expect(200);
  const { accessToken: token, sessionId, refreshToken } = res.body.data;
  return { token: token as string, sessionId: sessionId as string, refreshToken: refreshToken as string };
}

export async function registerAndLoginWithRefresh(t: HttpClient): Promise<WithRefresh> {
  const user = await register(t);
  return { ...user, ...(await loginWithRefresh(t, user.email, user.password)) };
}

/** POST /refresh; with a refresh token given (anything, even null), the body is `{ refreshToken }`. */
export function refreshRequest(t: HttpClient, refreshToken?: unknown, options: RequestOptions = {}) {
  const req = withOptions(t.http().post(`${API}/refresh`), options);
  return refreshToken === undefined ? req : req.send({ refreshToken });
}

/** POST /password, with the token as bearer when one is given, and this body. */
export function passwordRequest(t: HttpClient, token: string | undefined, body: Record<string, unknown>) {
  const req = t.http().post(`${API}/password`);
  return (token === undefined ? req : req.set(bearer(token))).send(body);
}

/** GET /sessions (live unless `state` says otherwise), with the token as bearer when one is given. */
export function sessionsRequest(t: HttpClient, token?: string, state?: string) {
  const req = t.http().get(`${API}/sessions`).query(state === undefined ? {} : { state });
  return token === undefined ? req : req.set(bearer(token));
}

/** DELETE /sessions/:id, the id encoded into the path. */
export const endSessionRequest = (t: HttpClient, token: string, id: string) =>
  t.http().delete(`${API}/sessions/${encodeURIComponent(id)}`).set(bearer(token));
