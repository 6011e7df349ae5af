import { randomInt } from 'node:crypto';
import type { Test as PendingRequest } from 'supertest';
import type { HttpClient } from './app.js';

// Requests to the API's routes, built with supertest; nothing is sent until awaited.

export const API = '/api/v1/auth';

/** Where a request comes from (X-Forwarded-For, which counts with TRUST_PROXY), and how long it may take. */
export interface RequestOptions {
  from?: string;
  timeout?: number;
}

/**
 * A client address nobody else has used within a window: counters in a shared Redis are keyed by
 * client address and never flushed. 198.18.0.0/15 is reserved for benchmarks.
 */
export const freshAddress = () => `198.${18 + randomInt(2)}.${randomInt(256)}.${1 + randomInt(254)}`;

export const withOptions = (req: PendingRequest, { from, timeout }: RequestOptions): PendingRequest => {
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

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

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
