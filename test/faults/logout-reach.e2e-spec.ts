import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, TEST_DATABASE_URL } from '../support/app.js';
import { ensureReceiverBuilt } from '../support/receiver-build.js';
import { API } from '../support/requests.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { inOneStep, totpCode } from '../support/totp.js';
import { register } from '../support/users.js';

// How far a logout reaches: the auth server as its own process (EdDSA), and a service protected by
// @auth-backend/receiver in another process (test/support/protected-service.mjs), its event stream
// through a TCP proxy (introspection and the key set direct). From each logout's 200, the service is
// probed with that token: refused within the staleness bound with the stream up, and never accepted
// past the bound with the stream stalled or cut.

const STALENESS_MS = 1000;
const CLIENT = { id: 'svc', secret: 'svc-secret-0123456789-abcdefghijklmn' };
const SERVICE = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'protected-service.mjs');
const database: Record<string, string> = onPostgres ? { DATABASE_URL: TEST_DATABASE_URL! } : { PGLITE_DATA_DIR: 'memory://' };

/** One keep-alive agent for everything the test sends to the service and the server. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

interface Answer {
  status: number;
  body: string;
  via: string | undefined;
  /** performance.now() when the request was sent, and when its answer had come. */
  sentAt: number;
  receivedAt: number;
}

function send(url: string, { method = 'GET', token, body }: { method?: string; token?: string; body?: unknown } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload) headers['content-type'] = 'application/json';
    const sentAt = performance.now();
    const req = http.request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: text, via: res.headers['x-verified-via'] as string | undefined, sentAt, receivedAt: performance.now() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

interface Service {
  url: string;
  resource: (token: string) => Promise<Answer>;
  state: () => Promise<{ connected: boolean; stale: boolean; reconnects: number; introspections: number; deniedSessions: number; cursor: string | null; accepted: { local: number; introspection: number } }>;
  metricsText: () => Promise<string>;
  stop: () => Promise<void>;
}

/** test/support/protected-service.mjs as its own process; resolves once it printed its port. */
async function startService(env: Record<string, string>): Promise<Service> {
  const child: ChildProcess = spawn(process.execPath, [SERVICE], {
    env: { PATH: process.env.PATH ?? '', CLIENT_ID: CLIENT.id, CLIENT_SECRET: CLIENT.secret, STALENESS_MS: String(STALENESS_MS), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`protected service did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`protected service exited with ${code}:\n${output}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url,
    resource: (token) => send(`${url}/resource`, { token }),
    state: async () => JSON.parse((await send(`${url}/state`)).body),
    metricsText: async () => (await send(`${url}/metrics`)).body,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/**
 * An HTTP proxy in front of the server that forwards at once but holds the answers of
 * POST /api/v1/auth/introspect for `holdMs` before passing them on (a slow network or a loaded
 * server, as seen from the receiver).
 */
async function startSlowIntrospection(target: string, holdMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers, agent }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => body.push(chunk));
        answer.on('end', async () => {
          if (req.url === `${API}/introspect`) await sleep(holdMs);
          res.writeHead(answer.statusCode!, answer.headers);
          res.end(Buffer.concat(body));
        });
      });
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

interface Session {
  token: string;
  sessionId: string;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1)!) };
};

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('how far a logout reaches: a service beside the auth server, protected by the receiver', () => {
  let server: ServerProcess;
  let proxy: TcpProxy;
  let service: Service;
  let email: string;
  const password = 'password-123';
  /** Sessions nobody logs out: what the client loops use. */
  const live: Session[] = [];
  /** Sessions to log out, taken from the front. */
  const victims: Session[] = [];

  const login = async (): Promise<Session> => {
    const res = await send(`${server.url}${API}/login`, { method: 'POST', body: { email, password } });
    if (res.status !== 200) throw new Error(`login answered ${res.status}: ${res.body}`);
    const { accessToken, sessionId } = JSON.parse(res.body).data;
    return { token: accessToken, sessionId };
  };
  /** POST /logout; resolves when its 200 came (performance.now()). */
  const logout = async (session: Session): Promise<number> => {
    const res = await send(`${server.url}${API}/logout`, { method: 'POST', token: session.token });
    if (res.status !== 200) throw new Error(`logout answered ${res.status}: ${res.body}`);
    return res.receivedAt;
  };
  const victim = () => {
    const next = victims.shift();
    if (!next) throw new Error('out of sessions to log out');
    return next;
  };

  /**
   * Probes `service` with the token of a session logged out at `loggedOutAt` (its 200), every ~2 ms,
   * until refused and at least `minMs` after the 200. What was accepted, and when it was sent.
   */
  async function probe(target: Service, token: string, loggedOutAt: number, minMs = 0) {
    const accepted: number[] = [];
    let refusedAt: number | undefined;
    let refusal: Answer | undefined;
    for (;;) {
      const answer = await target.resource(token);
      if (answer.status === 200) accepted.push(answer.sentAt - loggedOutAt);
      else if (refusedAt === undefined) {
        refusedAt = answer.receivedAt - loggedOutAt;
        refusal = answer;
      }
      if (refusedAt !== undefined && answer.receivedAt - loggedOutAt >= minMs) break;
      if (answer.receivedAt - loggedOutAt > 10_000) throw new Error('a logged-out token was still accepted after 10 s');
      await sleep(2);
    }
    return { accepted, refusedAt: refusedAt!, refusal: refusal!, lastAcceptedSentAt: accepted.length ? Math.max(...accepted) : null };
  }

  /** `loops` clients sending live tokens to `target` without pause until stopped: every answer's status. */
  function hammer(target: Service, loops: number) {
    let running = true;
    const statuses = new Map<number, number>();
    const via = new Map<string, number>();
    let sent = 0;
    const done = Promise.all(
      Array.from({ length: loops }, async (_, i) => {
        for (let n = i; running; n += loops) {
          const answer = await target.resource(live[n % live.length]!.token);
          sent++;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.via) via.set(answer.via, (via.get(answer.via) ?? 0) + 1);
        }
      }),
    );
    return {
      get sent() {
        return sent;
      },
      stop: async () => {
        running = false;
        await done;
        return { statuses: Object.fromEntries(statuses), via: Object.fromEntries(via), sent };
      },
    };
  }

  beforeAll(async () => {
    await ensureReceiverBuilt();
    server = await startServerProcess({
      ...database,
      JWT_ALGORITHM: 'EdDSA',
      INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret}`,
      THROTTLE_LOGIN_LIMIT: '1000000',
      THROTTLE_LOGOUT_LIMIT: '1000000',
    });
    email = (await register({ http: server.http }, undefined, password)).email;
    // scrypt makes a login cost ~0.2 s: two at a time, one per core.
    const sessions: Session[] = [];
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (sessions.length < 420) sessions.push(await login());
      }),
    );
    live.push(...sessions.slice(0, 40));
    victims.push(...sessions.slice(40));
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
    service = await startService({ AUTH_URL: server.url, EVENTS_URL: `http://127.0.0.1:${proxy.port}` });
    await until('the receiver to be fresh', async () => !(await service.state()).stale);
  }, 240_000);

  afterAll(async () => {
    await service?.stop();
    await proxy?.close();
    await server?.stop();
    agent.destroy();
  });
  // A stall or cut case that failed half-way must not leave the shared stream down for the others.
  afterEach(async () => {
    if (!proxy || !service) return;
    await proxy.restore();
    await until('the receiver to be fresh', async () => !(await service.state()).stale, 15_000);
  });

  it('refuses a session ended before it started (the stream starts with every end still in force)', async () => {
    const ended = victim();
    const stillLive = live[0]!;
    await logout(ended);
    const fresh = await startService({ AUTH_URL: server.url });
    try {
      await until('the new receiver to be fresh', async () => !(await fresh.state()).stale);
      const refused = await fresh.resource(ended.token);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toMatchObject({ message: 'Token no proporcionado o inválido' });
      const accepted = await fresh.resource(stillLive.token);
      expect(accepted.status).toBe(200);
      expect(accepted.via).toBe('local');
      expect(JSON.parse(accepted.body)).toEqual({ sub: expect.any(String), sid: stillLive.sessionId });
      const state = await fresh.state();
      // Refused from the deny list the stream bootstrapped, not by asking the server.
      expect(state.introspections).toBe(0);
      expect(state.deniedSessions).toBeGreaterThanOrEqual(1);
    } finally {
      await fresh.stop();
    }
  }, 60_000);

  it("a factor's end reaches it like a logout: confirming TOTP on one session refuses the user's other session at the service", async () => {
    const owner = (await register({ http: server.http }, undefined, password)).email;
    const signIn = async (): Promise<Session> => {
      const { accessToken, sessionId } = JSON.parse((await send(`${server.url}${API}/login`, { method: 'POST', body: { email: owner, password } })).body).data;
      return { token: accessToken, sessionId };
    };
    const [confirming, other] = [await signIn(), await signIn()];
    expect((await service.resource(other.token)).status).toBe(200);
    await inOneStep();
    const { factorId, secret } = JSON.parse((await send(`${server.url}${API}/mfa/totp`, { method: 'POST', token: confirming.token, body: {} })).body).data;
    const confirmed = await send(`${server.url}${API}/mfa/totp/confirm`, { method: 'POST', token: confirming.token, body: { factorId, code: totpCode(secret) } });
    expect(confirmed.status).toBe(200);
    const { refusal } = await probe(service, other.token, confirmed.receivedAt);
    expect(refusal.status).toBe(401);
    expect((await service.resource(confirming.token)).status).toBe(200);
  }, 60_000);

  it('stream up: ~300 logouts under load, each refused at the service well within the bound', async () => {
    const load = hammer(service, 20);
    const delays: number[] = [];
    const lastAccepted: number[] = [];
    const statuses = new Set<number>();
    const count = victims.length - 80; // the rest for the cases below
    for (let i = 0; i < count; i++) {
      const session = victim();
      const loggedOutAt = await logout(session);
      const result = await probe(service, session.token, loggedOutAt);
      delays.push(result.refusedAt);
      if (result.lastAcceptedSentAt !== null) lastAccepted.push(result.lastAcceptedSentAt);
      statuses.add(result.refusal.status);
    }
    const loadResult = await load.stop();
    const figures = summary(delays);
    console.log(
      `logout → refusal at the service, stream up (${onPostgres ? 'PostgreSQL' : 'embedded'}), ms:`,
      JSON.stringify({ ...figures, acceptedAfterThe200: lastAccepted.length, latestAcceptedSend: lastAccepted.length ? Math.max(...lastAccepted) : null, load: loadResult }),
    );
    expect(delays).toHaveLength(count);
    expect([...statuses]).toEqual([401]);
    expect(figures.max).toBeLessThan(STALENESS_MS);
    // Live tokens: never refused while the stream is up, and verified locally (a machine starved
    // of CPU for a whole second could make the receiver stale for a moment: then introspected).
    expect(loadResult.statuses).toEqual({ 200: loadResult.sent });
    expect(loadResult.via.local).toBeGreaterThanOrEqual(loadResult.sent * 0.99);
    expect((await service.state()).stale).toBe(false);
  }, 180_000);

  for (const fault of ['stall', 'cut'] as const) {
    it(`stream ${fault === 'stall' ? 'stalled (silent)' : 'cut'}: nothing accepted past the bound, live sessions by introspection; then it catches up`, async () => {
      const load = hammer(service, 20);
      const before = await service.state();
      if (fault === 'stall') proxy.stall();
      else await proxy.cut();
      const faultAt = performance.now();

      // Logouts every ~150 ms for ~3 s, each probed (concurrently) until well past the bound.
      const probes: Promise<Awaited<ReturnType<typeof probe>> & { at: number }>[] = [];
      while (performance.now() - faultAt < 3000) {
        const session = victim();
        const loggedOutAt = await logout(session);
        probes.push(probe(service, session.token, loggedOutAt, STALENESS_MS + 300).then((r) => ({ ...r, at: loggedOutAt - faultAt })));
        await sleep(150);
      }
      // Sessions ended while the stream is down and never shown to the service: only the catch-up can tell it.
      const unseen = [victim(), victim(), victim()];
      for (const session of unseen) await logout(session);
      const results = await Promise.all(probes);
      const during = await service.state();
      const loadResult = await load.stop();

      const late = results.flatMap((r) => r.accepted.filter((sentAt) => sentAt > STALENESS_MS));
      const figures = summary(results.map((r) => r.refusedAt));
      console.log(
        `logout → refusal at the service, stream ${fault} (${onPostgres ? 'PostgreSQL' : 'embedded'}), ms:`,
        JSON.stringify({ ...figures, passesPastTheBound: late.length, load: loadResult, logouts: results.map((r) => ({ at: Math.round(r.at), refusedAt: Math.round(r.refusedAt), lastAccepted: r.lastAcceptedSentAt && Math.round(r.lastAcceptedSentAt) })) }),
      );
      expect(late).toEqual([]);
      expect(results.every((r) => r.refusal.status === 401)).toBe(true);
      // Live sessions kept working, by introspection once the receiver went stale.
      expect(loadResult.statuses).toEqual({ 200: loadResult.sent });
      expect(loadResult.via.introspection).toBeGreaterThan(0);
      expect(during.stale).toBe(true);
      expect(during.introspections).toBeGreaterThan(before.introspections);

      await proxy.restore();
      await until('the receiver to reconnect and be fresh again', async () => !(await service.state()).stale, 15_000);
      const after = await service.state();
      expect(after.connected).toBe(true);
      expect(after.reconnects).toBeGreaterThan(before.reconnects);
      const metrics = await service.metricsText();
      expect(metrics).toMatch(/^auth_receiver_stale 0$/m);
      expect(metrics).toMatch(/^auth_receiver_connected 1$/m);

      // Caught up: the unseen ends are refused locally, without asking the server.
      for (const session of unseen) expect((await service.resource(session.token)).status).toBe(401);
      const live0 = await service.resource(live[0]!.token);
      expect(live0.status).toBe(200);
      expect(live0.via).toBe('local');
      expect((await service.state()).introspections).toBe(after.introspections);

      // And logouts reach it at stream speed again.
      const session = victim();
      const result = await probe(service, session.token, await logout(session));
      expect(result.refusedAt).toBeLessThan(STALENESS_MS);
    }, 90_000);
  }

  it("whenStale 'refuse' with the stream stalled: after the bound every token gets 503, nothing of an ended session passes", async () => {
    const refuseProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
    const strict = await startService({ AUTH_URL: server.url, EVENTS_URL: `http://127.0.0.1:${refuseProxy.port}`, WHEN_STALE: 'refuse' });
    try {
      await until('the strict receiver to be fresh', async () => !(await strict.state()).stale);
      expect((await strict.resource(live[1]!.token)).status).toBe(200);
      refuseProxy.stall();
      const stalledAt = performance.now();
      const probes = [];
      const ended: Session[] = [];
      for (let i = 0; i < 5; i++) {
        const session = victim();
        ended.push(session);
        probes.push(probe(strict, session.token, await logout(session), STALENESS_MS + 300));
        await sleep(100);
      }
      const results = await Promise.all(probes);
      expect(results.flatMap((r) => r.accepted.filter((sentAt) => sentAt > STALENESS_MS))).toEqual([]);

      // Past the bound (the last heartbeat came before the stall), every token is 503, live ones too.
      await sleep(Math.max(0, stalledAt + STALENESS_MS + 50 - performance.now()));
      for (const session of live.slice(0, 10)) {
        const answer = await strict.resource(session.token);
        expect(answer.status).toBe(503);
        expect(JSON.parse(answer.body)).toMatchObject({ message: 'Servicio no disponible' });
      }
      const state = await strict.state();
      expect(state.stale).toBe(true);
      expect(state.introspections).toBe(0);
      expect(await strict.metricsText()).toMatch(/^auth_receiver_refusals_total\{reason="stale"\} [1-9]/m);

      await refuseProxy.restore();
      await until('the strict receiver to be fresh again', async () => !(await strict.state()).stale, 15_000);
      expect((await strict.resource(live[1]!.token)).status).toBe(200);
      // Caught up: the sessions ended during the stall are refused as ended.
      for (const r of results) expect([401, 503]).toContain(r.refusal.status);
      for (const session of ended) expect((await strict.resource(session.token)).status).toBe(401);
    } finally {
      await strict.stop();
      await refuseProxy.close();
    }
  }, 60_000);

  // While stale, concurrent verifications of one token share one introspection
  // (IntrospectionClient.introspect), but only one sent within stalenessMs: riding on an older
  // one, a request arriving more than stalenessMs after a logout's 200 could be accepted on the
  // answer to a question asked before the logout, when introspection takes longer than the bound.
  it('while stale, a request sent past the bound never rides on an introspection sent before the logout', async () => {
    const eventsProxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
    const slow = await startSlowIntrospection(server.url, 2000); // under requestTimeoutMs (3000)
    const target = await startService({ AUTH_URL: slow.url, EVENTS_URL: `http://127.0.0.1:${eventsProxy.port}` });
    try {
      await until('the receiver to be fresh', async () => !(await target.state()).stale);
      eventsProxy.stall();
      await until('the receiver to be stale', async () => (await target.state()).stale, 5000);

      const session = victim();
      const asked = target.resource(session.token); // introspected: active, its answer held 2 s
      await sleep(100);
      const loggedOutAt = await logout(session);
      await sleep(Math.max(0, loggedOutAt + STALENESS_MS + 100 - performance.now()));
      const late = await target.resource(session.token); // sent past the bound
      expect((await asked).status).toBe(200); // asked before the logout: fine
      expect(late.sentAt - loggedOutAt).toBeGreaterThan(STALENESS_MS);
      expect(late.status).toBe(401);
    } finally {
      await target.stop();
      await slow.close();
      await eventsProxy.close();
    }
  }, 30_000);
});
