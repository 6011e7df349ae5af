import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEnv } from '../../src/config/env.validation.js';
import type { Response } from 'supertest';
import { type HttpClient, startApp, type TestApp } from '../support/app.js';
import { envelope, MESSAGES } from '../support/messages.js';
import { API, meRequest } from '../support/requests.js';
import { registerAndLogin } from '../support/users.js';

// Browsers on another origin: CORS_ORIGINS, preflights, exposed headers, and refusing wildcards.

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com';
  const preflight = (t: HttpClient, origin: string, path = `${API}/logout`, method = 'POST') =>
    t.http().options(path).set('Origin', origin).set('Access-Control-Request-Method', method)
      .set('Access-Control-Request-Headers', 'authorization,content-type,x-request-id');
  const corsHeaders = (headers: Record<string, string>) => Object.keys(headers).filter((h) => h.startsWith('access-control-'));
  const listOf = (header: string | undefined) => (header ?? '').split(',').map((v) => v.trim().toLowerCase());
  /** OPTIONS that is no preflight: no Origin, or no Access-Control-Request-Method. */
  const plainOptions = (t: HttpClient) => [
    t.http().options(`${API}/me`),
    t.http().options(`${API}/logout`).set('Origin', ORIGIN),
    t.http().options(`${API}/logout`).set('Access-Control-Request-Method', 'POST'),
    t.http().options('/health'),
    t.http().options('/no-such-route'),
  ];
  /** No route serves OPTIONS: the 404 any method a route lacks gets, in the envelope, with the usual headers. */
  const expectNoOptions = (res: Response) => {
    expect(res.status).toBe(404);
    expect(res.text).toBe(envelope(MESSAGES.notFound));
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(corsHeaders(res.headers)).toStrictEqual([]);
  };

  describe('with CORS_ORIGINS', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ CORS_ORIGINS: `${ORIGIN}, https://admin.example.com:8443` });
    });
    afterAll(() => t.close());

    it('answers a preflight from a listed origin: credentials, the methods and the headers allowed', async () => {
      for (const [origin, path, method] of [
        [ORIGIN, `${API}/logout`, 'POST'],
        ['https://admin.example.com:8443', `${API}/sessions/${randomUUID()}`, 'DELETE'],
      ] as const) {
        const res = await preflight(t, origin, path, method);
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(300);
        expect(res.headers['access-control-allow-origin']).toBe(origin);
        expect(res.headers['access-control-allow-credentials']).toBe('true');
        expect(listOf(res.headers['access-control-allow-methods'])).toEqual(expect.arrayContaining(['get', 'post', 'delete']));
        expect(listOf(res.headers['access-control-allow-headers'])).toEqual(
          expect.arrayContaining(['authorization', 'content-type', 'x-request-id']),
        );
        expect(listOf(res.headers.vary)).toContain('origin');
      }
    });

    it('lets a listed origin read the answer, its X-Request-Id, Retry-After and WWW-Authenticate, failures included', async () => {
      const user = await registerAndLogin(t);
      for (const res of [await meRequest(t, user.token).set('Origin', ORIGIN), await meRequest(t).set('Origin', ORIGIN)]) {
        expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
        expect(res.headers['access-control-allow-credentials']).toBe('true');
        expect(listOf(res.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(['x-request-id', 'retry-after', 'www-authenticate']));
      }
    });

    it('answers an OPTIONS that is no preflight with the 404 envelope, not a plain-text 400', async () => {
      for (const req of plainOptions(t)) expectNoOptions(await req);
    });

    it('gives another origin no Access-Control-Allow-Origin', async () => {
      const user = await registerAndLogin(t);
      for (const origin of ['https://evil.example.com', 'http://app.example.com', 'https://app.example.com.evil.com', 'null']) {
        expect((await preflight(t, origin)).headers['access-control-allow-origin'], origin).toBeUndefined();
        const res = await meRequest(t, user.token).set('Origin', origin);
        expect(res.status).toBe(200);
        expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });
  });

  describe('without CORS_ORIGINS', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ CORS_ORIGINS: undefined });
    });
    afterAll(() => t.close());

    it('sends no Access-Control-* header at all, on a preflight or a request', async () => {
      const user = await registerAndLogin(t);
      expect(corsHeaders((await preflight(t, ORIGIN)).headers)).toStrictEqual([]);
      const res = await meRequest(t, user.token).set('Origin', ORIGIN);
      expect(res.status).toBe(200);
      expect(corsHeaders(res.headers)).toStrictEqual([]);
    });

    it('answers every OPTIONS, a preflight included, with the 404 envelope', async () => {
      for (const req of [...plainOptions(t), preflight(t, ORIGIN)]) expectNoOptions(await req);
    });
  });

  it.each(['*', 'https://app.example.com/path', 'https://app.example.com/', 'https://app.example.com, *', 'https://*.example.com', 'app.example.com'])(
    'refuses CORS_ORIGINS=%j at boot, with one line naming the variable',
    async (value) => {
      let message = '';
      try {
        validateEnv({ CORS_ORIGINS: value });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^Invalid configuration: CORS_ORIGINS /);
      expect(message).not.toContain('\n');
      await expect(startApp({ CORS_ORIGINS: value })).rejects.toThrow(/^Invalid configuration: CORS_ORIGINS /);
    },
  );

  it('accepts a comma-separated list of exact origins', () => {
    expect(validateEnv({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).CORS_ORIGINS).toBeTruthy();
  });
});
