import type { Response } from 'supertest';
import { expect } from 'vitest';
import { EXPIRED_BODY, INVALID_TOKEN_BODY, MESSAGES, TOO_MANY_BODY } from './messages.js';

/** What no body may ever contain: stack traces, SQL, driver and library errors. */
export function expectNothingInternal(res: Response) {
  expect(res.text.toLowerCase()).not.toContain('stack');
  expect(res.text).not.toMatch(/\bat \S+ \(|\n\s+at |\(\S+:\d+:\d+\)|file:\/\//);
  expect(res.text).not.toContain('QueryFailedError');
  expect(res.text).not.toContain('SELECT');
  expect(res.text).not.toContain('INSERT');
  expect(res.text).not.toContain('FST_');
  expect(res.text).not.toMatch(/typeorm|postgres|pglite|fastify|nest|class-validator|node_modules/i);
}

export function expectInvalidRequest(res: Response) {
  expect(res.status).toBe(400);
  expect(Object.keys(res.body).sort()).toEqual(['errors', 'message', 'success']);
  expect(res.body.success).toBe(false);
  expect(res.body.message).toBe(MESSAGES.invalidRequest);
  expect(Array.isArray(res.body.errors)).toBe(true);
  expect(res.body.errors.length).toBeGreaterThan(0);
  for (const error of res.body.errors) {
    expect(typeof error).toBe('string');
    expect(error.length).toBeGreaterThan(0);
  }
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expectNothingInternal(res);
}

/** A token refused: exact status and body, WWW-Authenticate naming the token as the cause, JSON. */
function expectTokenRefused(res: Response, status: number, body: string) {
  expect(res.status).toBe(status);
  expect(res.text).toBe(body);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  expect(res.headers['content-type']).toMatch(/^application\/json/);
}

/** The one 401 of every token failure. */
export const expectInvalidToken = (res: Response) => expectTokenRefused(res, 401, INVALID_TOKEN_BODY);

/** The 403 of a genuine token past its exp. */
export const expectExpired = (res: Response) => expectTokenRefused(res, 403, EXPIRED_BODY);

/** Exact 429: body, a whole number of seconds in Retry-After within the window, the usual headers. */
export function expectTooMany(res: Response, ttlSeconds = 60) {
  expect(res.status).toBe(429);
  expect(res.text).toBe(TOO_MANY_BODY);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const retryAfter = res.headers['retry-after'];
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(ttlSeconds);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-request-id']).toBeTruthy();
  // A rate limit is not a token failure.
  expect(res.headers['www-authenticate']).toBeUndefined();
}
