import { base64url, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from './receiver.js';
import type { ReceiverOptions } from './options.js';
import { startFakeAuthServer, type FakeAuthServer } from './testing/fake-auth-server.js';
import { sleep, waitFor } from './testing/wait-for.js';

const STALENESS_MS = 300;

describe('Receiver', () => {
  let fake: FakeAuthServer;
  const receivers: Receiver[] = [];

  beforeEach(async () => {
    fake = await startFakeAuthServer({ heartbeatMs: 50 });
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await fake.close();
  });

  async function started(options: Partial<ReceiverOptions> = {}): Promise<Receiver> {
    const receiver = createReceiver({
      url: fake.url,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      stalenessMs: STALENESS_MS,
      startTimeoutMs: 1000,
      ...options,
    });
    receivers.push(receiver);
    await receiver.start();
    return receiver;
  }

  const introspections = () => fake.count('/api/v1/auth/introspect');

  it('accepts a valid token locally once the first heartbeat came', async () => {
    const receiver = await started();
    expect(receiver.stale).toBe(false);
    const token = await fake.sign({ sub: 'user-7', sid: 'session-a' });
    const result = await receiver.verify(token);
    expect(result).toMatchObject({ ok: true, via: 'local', claims: { sub: 'user-7', sid: 'session-a', iss: 'auth-backend' } });
    expect(result.ok && typeof result.claims.jti).toBe('string');
    expect(introspections()).toBe(0);
    expect(fake.streams).toEqual([undefined]);
  });

  describe('refuses locally, without asking the server, even when stale', () => {
    let receiver: Receiver;
    beforeEach(async () => {
      fake.heartbeats = false;
      receiver = await started({ startTimeoutMs: 100 });
      expect(receiver.stale).toBe(true);
    });
    afterEach(() => {
      expect(introspections()).toBe(0);
      // The key set was read once, at start: no token made it fetch again.
      expect(fake.count('/.well-known/jwks.json')).toBe(1);
    });

    const unsigned = (header: object, payload: object) =>
      `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.`;
    const claims = () => ({ sub: 'u', sid: 's', iss: 'auth-backend', aud: 'auth-backend-clients', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 });

    it.each<[string, () => Promise<string>]>([
      ['a signature by another key under the same kid', async () => fake.sign({}, { key: (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey })],
      ['alg none', async () => unsigned({ alg: 'none', typ: 'JWT', kid: fake.kid }, claims())],
      [
        'HS256 signed with the public key',
        async () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: fake.kid }).sign(base64url.decode(fake.publicJwk.x ?? '')),
      ],
      ['an unknown kid', async () => fake.sign({}, { header: { kid: 'someone-else' } })],
      ['a jku header pointing elsewhere', async () => fake.sign({}, { header: { kid: 'x', jku: 'http://127.0.0.1:1/keys' } })],
      ['another issuer', async () => fake.sign({ iss: 'elsewhere' })],
      ['another audience', async () => fake.sign({ aud: 'other-clients' })],
      ['no sid', async () => fake.sign({ sid: undefined })],
      ['a typ other than JWT', async () => fake.sign({}, { header: { typ: 'at+jwt+refresh' } })],
      ['garbage', async () => 'not.a.token'],
      ['a tampered payload', async () => {
        const [h, , s] = (await fake.sign()).split('.');
        return `${h}.${base64url.encode(JSON.stringify({ ...claims(), sub: 'admin' }))}.${s}`;
      }],
    ])('%s: invalid', async (_, make) => {
      expect(await receiver.verify(await make())).toEqual({ ok: false, reason: 'invalid' });
    });

    it('an expired token: expired', async () => {
      const token = await fake.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 10 });
      expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'expired' });
    });
  });

  it('refuses a token of a session the server ended, milliseconds after the event', async () => {
    const receiver = await started();
    const token = await fake.sign({ sid: 'session-b' });
    expect((await receiver.verify(token)).ok).toBe(true);
    const sent = performance.now();
    const event = fake.end('session-b');
    await waitFor(() => receiver.metrics().cursor === event.id);
    expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'ended' });
    expect(performance.now() - sent).toBeLessThan(500);
    // Other sessions are untouched.
    expect((await receiver.verify(await fake.sign())).ok).toBe(true);
    expect(receiver.metrics()).toMatchObject({ deniedSessions: 1, refusals: { ended: 1 } });
  });

  it('ignores an event with a version not above the one applied, and forgets a session after denyUntil', async () => {
    const receiver = await started();
    const token = await fake.sign({ sid: 'session-c' });
    fake.end('session-c', { version: 2, denyUntil: new Date(Date.now() + 400) });
    // An older event arriving late would deny for longer: it must change nothing.
    const late = fake.end('session-c', { version: 1, denyUntil: new Date(Date.now() + 60_000) });
    const same = fake.end('session-c', { version: 2, denyUntil: new Date(Date.now() + 60_000) });
    await waitFor(() => receiver.metrics().cursor === same.id);
    expect(late.id < same.id).toBe(true);
    expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'ended' });
    await sleep(450);
    expect(receiver.metrics().deniedSessions).toBe(0);
    expect(await receiver.verify(token)).toMatchObject({ ok: true, via: 'local' });
  });

  it('starts from the stream without a cursor: ends still in force are applied, gone ones are not', async () => {
    fake.end('session-old', { denyUntil: new Date(Date.now() - 1000) });
    const live = fake.end('session-live');
    const receiver = await started();
    expect(fake.streams).toEqual([undefined]);
    expect(receiver.metrics()).toMatchObject({ cursor: live.id, deniedSessions: 1 });
    expect(await receiver.verify(await fake.sign({ sid: 'session-live' }))).toEqual({ ok: false, reason: 'ended' });
    expect((await receiver.verify(await fake.sign({ sid: 'session-old' }))).ok).toBe(true);
  });

  describe('when the heartbeats stop', () => {
    it('introspects after stalenessMs, one request for concurrent verifications of a token', async () => {
      const receiver = await started();
      const token = await fake.sign({ sid: 'session-d' });
      fake.heartbeats = false;
      const stopped = performance.now();
      await waitFor(() => receiver.stale);
      expect(performance.now() - stopped).toBeGreaterThanOrEqual(STALENESS_MS - 60);
      fake.introspection.delayMs = 100;
      const results = await Promise.all(Array.from({ length: 10 }, () => receiver.verify(token)));
      for (const result of results) expect(result).toMatchObject({ ok: true, via: 'introspection', claims: { sid: 'session-d' } });
      expect(introspections()).toBe(1);
      const [request] = fake.requests.filter((r) => r.url === '/api/v1/auth/introspect');
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      // No answer is kept: the next verification asks again.
      await receiver.verify(token);
      expect(introspections()).toBe(2);
      expect(receiver.metrics().introspections).toBe(2);
    });

    it('refuses with whenStale refuse', async () => {
      const receiver = await started({ whenStale: 'refuse' });
      const token = await fake.sign();
      fake.heartbeats = false;
      await waitFor(() => receiver.stale);
      expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'stale' });
      expect(introspections()).toBe(0);
    });

    it('reconnects a silent stream', async () => {
      const receiver = await started();
      fake.heartbeats = false;
      await waitFor(() => fake.streams.length >= 2, 3000, 'a second stream');
      expect(receiver.metrics().reconnects).toBeGreaterThanOrEqual(1);
      fake.heartbeats = true;
      await waitFor(() => !receiver.stale, 3000, 'fresh again');
      expect(await receiver.verify(await fake.sign())).toMatchObject({ ok: true, via: 'local' });
    });

    it("denies the session until the token's exp when introspection says inactive", async () => {
      const receiver = await started();
      const token = await fake.sign({ sid: 'session-e' });
      fake.heartbeats = false;
      await waitFor(() => receiver.stale);
      // Committed but not pushed: only introspection can tell.
      fake.end('session-e', { push: false });
      expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'ended' });
      expect(receiver.metrics().deniedSessions).toBe(1);
    });
  });

  it('is stale while the server lags more than stalenessMs, though heartbeats come', async () => {
    const receiver = await started();
    fake.lagMs = STALENESS_MS * 3;
    await waitFor(() => receiver.stale);
    expect(await receiver.verify(await fake.sign())).toMatchObject({ ok: true, via: 'introspection' });
    fake.lagMs = 0;
    await waitFor(() => !receiver.stale);
  });

  it('after a drop, catches up from the feed and resumes the stream with Last-Event-ID', async () => {
    const receiver = await started();
    const first = fake.end('session-f');
    await waitFor(() => receiver.metrics().cursor === first.id);
    fake.dropStreams();
    // Ended while the stream is down: it comes from the feed.
    const missed = fake.end('session-g');
    const token = await fake.sign({ sid: 'session-g' });
    await waitFor(() => fake.connectedStreams() === 1, 3000, 'the reconnection');
    await waitFor(() => !receiver.stale);
    expect(fake.requests.some((r) => r.url === `/api/v1/events?after=${first.id}&limit=1000`)).toBe(true);
    expect(fake.streams).toEqual([undefined, missed.id]);
    expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'ended' });
    expect(receiver.metrics()).toMatchObject({ cursor: missed.id, reconnects: 1 });
  });

  it('is stale as soon as the stream is down', async () => {
    const receiver = await started();
    fake.dropStreams();
    await waitFor(() => !receiver.metrics().connected);
    expect(receiver.stale).toBe(true);
  });

  it('drops a stream whose event it cannot read rather than skip it', async () => {
    const receiver = await started();
    fake.broadcast('id: 9\nevent: session.ended\ndata: {"id":"9","type":"session.ended"\n\n');
    await waitFor(() => receiver.metrics().reconnects >= 1);
    expect(receiver.metrics().cursor).toBeNull();
  });

  it.each(['down', 'closed'] as const)('answers unavailable when introspection is %s', async (mode) => {
    const receiver = await started();
    const token = await fake.sign();
    fake.heartbeats = false;
    await waitFor(() => receiver.stale);
    fake.introspection.mode = mode;
    expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'unavailable' });
  });

  it('answers unavailable when introspection refuses its credentials', async () => {
    fake.heartbeats = false;
    const receiver = await started({ clientSecret: 'wrong', startTimeoutMs: 100 });
    expect(await receiver.verify(await fake.sign())).toEqual({ ok: false, reason: 'unavailable' });
    expect(fake.requests.find((r) => r.url === '/api/v1/auth/introspect')).toBeDefined();
  });

  it('starts without the server: resolves after startTimeoutMs, stale, and refuses what it cannot check', async () => {
    const token = await fake.sign();
    const url = fake.url;
    await fake.close();
    const before = performance.now();
    const receiver = await started({ url, startTimeoutMs: 200, requestTimeoutMs: 200 });
    expect(performance.now() - before).toBeLessThan(1000);
    expect(receiver.stale).toBe(true);
    expect(await receiver.verify(token)).toEqual({ ok: false, reason: 'unavailable' });
    fake = await startFakeAuthServer();
  });

  it('routes the feed and the stream to eventsUrl', async () => {
    const events = await startFakeAuthServer();
    try {
      const receiver = await started({ eventsUrl: events.url });
      expect(events.streams).toEqual([undefined]);
      expect(fake.streams).toEqual([]);
      await receiver.close();
    } finally {
      await events.close();
    }
  });

  it('authenticates a Bearer header', async () => {
    const receiver = await started();
    const token = await fake.sign();
    expect((await receiver.authenticate(`Bearer ${token}`)).ok).toBe(true);
    expect((await receiver.authenticate(`bearer ${token}`)).ok).toBe(true);
    for (const header of [undefined, '', token, `Basic ${token}`, `Bearer`, `Bearer ${token} extra`, `Bearer  ${token}x y`]) {
      expect(await receiver.authenticate(header)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('reports metrics, also as Prometheus text', async () => {
    const receiver = await started();
    await receiver.verify(await fake.sign());
    await receiver.verify('garbage');
    const event = fake.end('session-h');
    await waitFor(() => receiver.metrics().cursor === event.id);
    const metrics = receiver.metrics();
    expect(metrics).toMatchObject({
      connected: true,
      stale: false,
      deniedSessions: 1,
      cursor: event.id,
      reconnects: 0,
      introspections: 0,
      accepted: { local: 1, introspection: 0 },
      refusals: { invalid: 1, expired: 0, ended: 0, stale: 0, unavailable: 0 },
    });
    expect(metrics.lastHeardMsAgo).toBeGreaterThanOrEqual(0);
    expect(metrics.lastEventLagMs).toBeGreaterThanOrEqual(0);
    const text = receiver.metricsText();
    expect(text).toContain('# TYPE auth_receiver_connected gauge\nauth_receiver_connected 1\n');
    expect(text).toContain('auth_receiver_denied_sessions 1\n');
    expect(text).toContain('auth_receiver_refusals_total{reason="invalid"} 1\n');
    expect(text).toContain('auth_receiver_accepted_total{via="local"} 1\n');
    expect(text).toMatch(/^auth_receiver_last_heard_age_seconds \d+(\.\d+)?$/m);
  });

  it('rejects options that would void the bound', () => {
    const base = { url: 'http://127.0.0.1:1', clientId: 'a', clientSecret: 'b' };
    expect(() => createReceiver({ ...base, clockToleranceSeconds: 6 })).toThrow(RangeError);
    expect(() => createReceiver({ ...base, stalenessMs: 0 })).toThrow(RangeError);
    expect(() => createReceiver({ ...base, clientSecret: '' })).toThrow(TypeError);
  });
});
