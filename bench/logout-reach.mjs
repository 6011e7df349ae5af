// node bench/logout-reach.mjs [--embedded] [--logouts N] [--stall-seconds S] [--connections C] [--json FILE]
//
// How far a logout reaches: the time from a logout's 200 at the auth server to the first refusal of
// that session's token at another service protected by @auth-backend/receiver, under load.
//
// Processes: the auth server (bench/server.mjs, the real app from dist/, EdDSA, on PostgreSQL in a
// fresh database, BENCH_DATABASE_URL's server, default the machine's; --embedded: PGlite in memory);
// the protected service (test/support/protected-service.mjs), its event stream through a TCP proxy
// (introspection and the key set direct); the load generator (this file again, --role load:
// autocannon, C connections, default 50, each request a token drawn from a pool of live sessions);
// and this process, which logs out sessions and, for each, probes the service with its token every
// ~2 ms from the logout's 200 until refused.
//
// Phases:
//   up       stream up: N logouts (default 2000), 4 at a time, each probed until refused.
//   stalled  the proxy stalls the stream (connections open, nothing forwarded) for S seconds
//            (default 5): a logout every 50 ms, each probed until refused and at least until its
//            200 + stalenessMs + 300 ms; a probe accepted after 200 + stalenessMs is a pass past
//            the bound (must be 0).
//   restored the proxy forwards again; once the receiver is fresh, 200 more logouts as in `up`.
// Printed: per phase the delay's p50/p99/max, passes past the bound, the service's req/s and the
// statuses the live tokens got; then every raw figure as JSON (--json FILE writes it there too).
//
// Needs a build: `npx nest build` (dist/) and packages/receiver (built here when missing or old).
import { execFileSync, fork, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import { API, AUDIENCE, EVENTS_CLIENT as CLIENT, ISSUER, listenToStream, serverEnv, startServer, withFreshDatabase } from './common.mjs';

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'driver' },
    embedded: { type: 'boolean', default: false },
    logouts: { type: 'string', default: '2000' },
    after: { type: 'string', default: '200' },
    'stall-seconds': { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '4' },
    'staleness-ms': { type: 'string', default: '1000' },
    live: { type: 'string', default: '1000' },
    json: { type: 'string' },
  },
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STALENESS_MS = Number(args['staleness-ms']);
const BUCKET_MS = 100;

// ---------------------------------------------------------------------------------------------
// The load generator (its own process, so that its CPU does not delay the probes or the proxy).

async function loadGenerator() {
  const { default: autocannon } = await import('autocannon');
  const { url, tokens, connections } = await new Promise((resolve) => process.once('message', resolve));
  let n = 0;
  const buckets = new Map(); // Date.now() bucket → { status: count }
  const instance = autocannon({
    url: `${url}/resource`,
    connections,
    duration: 3600,
    requests: [
      {
        setupRequest: (request) => {
          request.headers = { ...request.headers, authorization: `Bearer ${tokens[n++ % tokens.length]}` };
          return request;
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode) => {
    const bucket = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS;
    let counts = buckets.get(bucket);
    if (!counts) buckets.set(bucket, (counts = {}));
    counts[statusCode] = (counts[statusCode] ?? 0) + 1;
  });
  process.on('message', (message) => {
    if (message !== 'stop') return;
    instance.stop();
  });
  instance.on('done', () => {
    process.send({ buckets: [...buckets] }, () => process.exit(0));
  });
  process.send({ started: Date.now() });
}

// ---------------------------------------------------------------------------------------------
// The driver.

async function driver() {
  const database = args.embedded ? 'embedded' : 'postgres';
  ensureBuilt();
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const cleanups = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  const runOn = async (databaseUrl) => {
    try {
      await run(database, databaseUrl, cleanups);
    } finally {
      await cleanup();
    }
  };
  if (args.embedded) await runOn(undefined);
  else await withFreshDatabase(adminUrl, 'reach_bench', runOn);
}

function ensureBuilt() {
  if (!existsSync(`${ROOT}dist/src/app.factory.js`)) throw new Error('No build: run `npx nest build` first');
  const pkg = `${ROOT}packages/receiver/`;
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, e) => {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) return Math.max(latest, newest(path));
      return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? Math.max(latest, statSync(path).mtimeMs) : latest;
    }, 0);
  const out = `${pkg}dist/index.js`;
  if (!existsSync(out) || statSync(out).mtimeMs < newest(`${pkg}src`)) {
    execFileSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${pkg}tsconfig.json`], { stdio: 'inherit' });
  }
}

async function run(database, databaseUrl, cleanups) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey), 'sha256');
  const env = {
    ...serverEnv(databaseUrl ? { url: databaseUrl } : {}, 'warn'),
    JWT_ALGORITHM: 'EdDSA',
    JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret}`,
  };
  const serverPort = await freePort();
  const server = await startServer('real', serverPort, env);
  cleanups.push(() => server.stop());
  const authUrl = server.url;

  // One user (registered through the API), its sessions straight into the table, their tokens
  // signed here with the server's key: logins would cost a scrypt each.
  const email = `reach-${randomUUID()}@example.com`;
  const registered = await post(`${authUrl}${API}/register`, { email, password: 'bench-password' });
  const userId = JSON.parse(registered.body).data.id;
  const logouts = Number(args.logouts);
  const after = Number(args.after);
  const stallSeconds = Number(args['stall-seconds']);
  const liveCount = Number(args.live);
  const victimsCount = logouts + after + Math.ceil((stallSeconds * 1000) / 50) + 50;
  const rows = await server.sql(
    `INSERT INTO sessions (user_id, expires_at, access_expires_at)
     SELECT $1, now() + interval '1 hour', now() + interval '30 minutes' FROM generate_series(1, $2) RETURNING id`,
    [userId, liveCount + victimsCount],
  );
  const exp = Math.floor(Date.now() / 1000) + 1800;
  const sign = (sid) =>
    new SignJWT({ sid, exp })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(privateKey);
  const sessions = await Promise.all(rows.map(async ({ id }) => ({ sessionId: id, token: await sign(id) })));
  const live = sessions.slice(0, liveCount);
  const victims = sessions.slice(liveCount);

  const proxy = await startProxy(serverPort);
  cleanups.push(() => proxy.close());
  const service = await startService({ AUTH_URL: authUrl, EVENTS_URL: `http://127.0.0.1:${proxy.port}`, STALENESS_MS: String(STALENESS_MS) });
  cleanups.push(() => service.stop());
  await until('the receiver to be fresh', async () => !(await service.state()).stale);

  // Sanity: a live token passes, a logged-out one is refused.
  if ((await get(`${service.url}/resource`, live[0].token)).status !== 200) throw new Error('a live token was refused');

  // A second listener on the stream, direct (no proxy, no receiver): when each end reached it,
  // which splits a delay into the server's push and the service's own part.
  const arrivals = await listenDirect(authUrl);
  cleanups.push(async () => arrivals.close());

  const load = await startLoad(service.url, live.map((s) => s.token), Number(args.connections));
  cleanups.push(() => load.kill());
  const marks = {};
  const mark = (name) => (marks[name] = Date.now());
  await sleep(2000); // warm-up
  console.log(`# ${database}: ${liveCount} live sessions under ${args.connections} connections; ${logouts} logouts with the stream up`);

  // Phase up.
  let next = 0;
  const victim = () => {
    if (next >= victims.length) throw new Error('out of sessions');
    return victims[next++];
  };
  const driverLoop = monitorEventLoopDelay({ resolution: 5 });
  driverLoop.enable();
  await get(`${service.url}/state?reset`);
  mark('upStart');
  const up = await sequentialLogouts(authUrl, service, victim, logouts, Number(args.concurrency));
  mark('upEnd');
  const stateBeforeStall = await service.state();
  driverLoop.disable();
  // How late the event loops ran during the up phase: what the machine's scheduling adds to every step.
  const loopDelay = {
    driver: { p50: round(driverLoop.percentile(50) / 1e6), p99: round(driverLoop.percentile(99) / 1e6), max: round(driverLoop.max / 1e6) },
    service: stateBeforeStall.eventLoopDelayMs,
  };

  // Phase stalled.
  console.log(`# stream stalled for ${stallSeconds} s: a logout every 50 ms`);
  await sleep(1000);
  mark('stallStart');
  proxy.stall();
  const stalledAt = performance.now();
  const stalled = [];
  const probes = [];
  let becameStaleAt;
  const watchStale = (async () => {
    while (performance.now() - stalledAt < stallSeconds * 1000) {
      if (becameStaleAt === undefined && (await service.state()).stale) becameStaleAt = performance.now() - stalledAt;
      await sleep(10);
    }
  })();
  while (performance.now() - stalledAt < stallSeconds * 1000 - STALENESS_MS - 400) {
    const session = victim();
    const loggedOut = await logout(authUrl, session);
    const at = loggedOut - stalledAt;
    probes.push(probe(service, session.token, loggedOut, STALENESS_MS + 300).then((r) => stalled.push({ at, ...r })));
    await sleep(50);
  }
  await Promise.all(probes);
  await watchStale;
  const stateDuringStall = await service.state();
  await sleep(Math.max(0, stalledAt + stallSeconds * 1000 - performance.now()));
  mark('stallEnd');

  // Phase restored.
  await proxy.restore();
  const restoredAt = performance.now();
  await until('the receiver to be fresh again', async () => !(await service.state()).stale, 30_000);
  const freshAgainMs = performance.now() - restoredAt;
  mark('restoredStart');
  const restored = await sequentialLogouts(authUrl, service, victim, after, Number(args.concurrency));
  mark('restoredEnd');
  const stateAfter = await service.state();

  const buckets = await load.stop();
  const throughput = (from, to) => {
    let count = 0;
    const statuses = {};
    for (const [bucket, counts] of buckets) {
      if (bucket < from || bucket + BUCKET_MS > to) continue;
      for (const [status, n] of Object.entries(counts)) {
        statuses[status] = (statuses[status] ?? 0) + n;
        count += n;
      }
    }
    return { reqPerSec: Math.round((count * 1000) / Math.max(1, to - from)), statuses };
  };
  const staleFrom = marks.stallStart + (becameStaleAt ?? 0);
  const results = {
    database,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg() },
    settings: { stalenessMs: STALENESS_MS, connections: Number(args.connections), liveSessions: liveCount, logouts, after, stallSeconds, concurrency: Number(args.concurrency) },
    up: {
      delayMs: summary(up.map((r) => r.refusedAt)),
      acceptedAfter200: countAccepted(up),
      // For the logouts whose token still passed after the 200: when the last accepted probe was sent.
      lastAcceptedSendMs: summary(up.map((r) => r.lastAcceptedSentAt).filter((x) => x !== null)),
      // Where the time goes: the end on a direct stream listener (server push), the refusing probe's round trip at the service.
      directStreamMs: summary(up.map((r) => arrivals.at(r.session.sessionId, r.loggedOutAt)).filter((x) => x !== undefined)),
      refusingProbeRttMs: summary(up.map((r) => r.refusalRtt)),
      throughput: throughput(marks.upStart, marks.upEnd),
      eventLoopDelayMs: loopDelay,
    },
    stalled: {
      logouts: stalled.length,
      receiverStaleAfterMs: becameStaleAt === undefined ? null : Math.round(becameStaleAt),
      passesPastBound: stalled.reduce((n, r) => n + r.accepted.filter((sentAt) => sentAt > STALENESS_MS).length, 0),
      delayMs: summary(stalled.map((r) => r.refusedAt)),
      latestAcceptedSendMs: round(Math.max(0, ...stalled.map((r) => r.lastAcceptedSentAt ?? 0))),
      throughputBeforeStale: throughput(marks.stallStart, staleFrom),
      throughputStale: throughput(staleFrom, marks.stallEnd),
      receiver: pick(stateDuringStall),
    },
    restored: {
      freshAgainMs: Math.round(freshAgainMs),
      delayMs: summary(restored.map((r) => r.refusedAt)),
      directStreamMs: summary(restored.map((r) => arrivals.at(r.session.sessionId, r.loggedOutAt)).filter((x) => x !== undefined)),
      refusingProbeRttMs: summary(restored.map((r) => r.refusalRtt)), throughput: throughput(marks.restoredStart, marks.restoredEnd), receiver: pick(stateAfter) },
    receiverBeforeStall: pick(stateBeforeStall),
    raw: {
      upDelaysMs: up.map((r) => round(r.refusedAt)),
      upDirectStreamMs: up.map((r) => { const a = arrivals.at(r.session.sessionId, r.loggedOutAt); return a === undefined ? null : round(a); }),
      upRefusingProbeRttMs: up.map((r) => round(r.refusalRtt)),
      stalled: stalled.map((r) => ({ at: round(r.at), refusedAt: round(r.refusedAt), lastAcceptedSentAt: r.lastAcceptedSentAt === null ? null : round(r.lastAcceptedSentAt) })),
      restoredDelaysMs: restored.map((r) => round(r.refusedAt)),
      loadPerSecond: perSecond(buckets, marks),
    },
  };
  report(results);
  const json = JSON.stringify(results);
  console.log(json);
  if (args.json) writeFileSync(args.json, json);
}

const pick = ({ connected, stale, reconnects, introspections, deniedSessions, accepted, refusals }) => ({ connected, stale, reconnects, introspections, deniedSessions, accepted, refusals });
const round = (n) => Math.round(n * 10) / 10;
const countAccepted = (rs) => rs.filter((r) => r.accepted.length > 0).length;

function perSecond(buckets, marks) {
  const start = marks.upStart;
  const seconds = new Map();
  for (const [bucket, counts] of buckets) {
    const s = Math.floor((bucket - start) / 1000);
    const entry = seconds.get(s) ?? {};
    for (const [status, n] of Object.entries(counts)) entry[status] = (entry[status] ?? 0) + n;
    seconds.set(s, entry);
  }
  return { marksSinceUpStartMs: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, v - start])), seconds: [...seconds].sort((a, b) => a[0] - b[0]) };
}

function report(r) {
  const d = (s) => `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (n=${s.n})`;
  const t = (x) => `${x.reqPerSec} req/s ${JSON.stringify(x.statuses)}`;
  console.log(`\n== ${r.database} (${r.machine.cpus} cores, load ${r.machine.load.map((l) => l.toFixed(2)).join(' ')}) ==`);
  console.log(`stream up:       logout 200 → refusal ${d(r.up.delayMs)}; service ${t(r.up.throughput)}`);
  console.log(`                 (200 → the end on a direct stream listener ${d(r.up.directStreamMs)}; the refusing probe's round trip ${d(r.up.refusingProbeRttMs)})`);
  console.log(`                 (event loop delay p50/p99/max: driver ${Object.values(r.up.eventLoopDelayMs.driver).join('/')} ms, service ${Object.values(r.up.eventLoopDelayMs.service ?? {}).join('/')} ms)`);
  console.log(`stream stalled:  ${r.stalled.logouts} logouts, passes past the bound: ${r.stalled.passesPastBound}; delay ${d(r.stalled.delayMs)}; receiver stale ${r.stalled.receiverStaleAfterMs} ms after the stall`);
  console.log(`                 service before stale ${t(r.stalled.throughputBeforeStale)}; while stale (introspection) ${t(r.stalled.throughputStale)}`);
  console.log(`restored:        fresh again after ${r.restored.freshAgainMs} ms; delay ${d(r.restored.delayMs)}; service ${t(r.restored.throughput)}; reconnects ${r.restored.receiver.reconnects}`);
}

function summary(values) {
  if (values.length === 0) return { n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { n: sorted.length, p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(sorted.at(-1)), mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length) };
}

/** `count` logouts, `concurrency` at a time, each probed until refused. */
async function sequentialLogouts(authUrl, service, victim, count, concurrency) {
  // Each result keeps its session, for the direct listener's arrival time.
  const results = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++;
        const session = victim();
        const loggedOut = await logout(authUrl, session);
        const result = await probe(service, session.token, loggedOut);
        results.push({ ...result, session });
        if (results.length % 500 === 0) console.log(`  ${results.length} logouts`);
      }
    }),
  );
  return results;
}

/** The dedicated prober: from the 200, every ~2 ms, until refused and at least `minMs` after the 200. */
async function probe(service, token, loggedOutAt, minMs = 0) {
  const accepted = [];
  let refusedAt;
  let refusalStatus;
  let refusalRtt;
  for (;;) {
    const answer = await get(`${service.url}/resource`, token);
    if (answer.status === 200) accepted.push(answer.sentAt - loggedOutAt);
    else if (refusedAt === undefined) {
      refusedAt = answer.receivedAt - loggedOutAt;
      refusalStatus = answer.status;
      refusalRtt = answer.receivedAt - answer.sentAt;
    }
    if (refusedAt !== undefined && answer.receivedAt - loggedOutAt >= minMs) break;
    if (answer.receivedAt - loggedOutAt > 30_000) throw new Error('a logged-out token was still accepted 30 s after its logout');
    await sleep(2);
  }
  return { loggedOutAt, refusedAt, refusalStatus, refusalRtt, accepted, lastAcceptedSentAt: accepted.length ? Math.max(...accepted) : null };
}

async function logout(authUrl, session) {
  const res = await request(`${authUrl}${API}/logout`, { method: 'POST', token: session.token });
  if (res.status !== 200) throw new Error(`logout answered ${res.status}: ${res.body}`);
  return res.receivedAt;
}

// ---------------------------------------------------------------------------------------------
// HTTP, processes, the proxy.

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function request(url, { method = 'GET', token, body } = {}) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload) headers['content-type'] = 'application/json';
    const sentAt = performance.now();
    const req = http.request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: text, sentAt, receivedAt: performance.now() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
const get = (url, token) => request(url, { token });
const post = (url, body) => request(url, { method: 'POST', body });

async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** test/support/protected-service.mjs as its own process. */
async function startService(env) {
  const child = spawn(process.execPath, [`${ROOT}test/support/protected-service.mjs`], {
    env: { PATH: process.env.PATH ?? '', CLIENT_ID: CLIENT.id, CLIENT_SECRET: CLIENT.secret, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  let output = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`protected service exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    state: async () => JSON.parse((await get(`${url}/state`)).body),
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))),
  };
}

/** The stream, direct from this process: when each session's end arrived (performance.now()). */
async function listenDirect(authUrl) {
  const arrived = new Map();
  const listener = await listenToStream(authUrl, (event, now) => arrived.set(event.data.sessionId, now));
  return {
    /** Arrival relative to `from`; undefined when it never came. */
    at: (sessionId, from) => (arrived.has(sessionId) ? arrived.get(sessionId) - from : undefined),
    close: () => listener.close(),
  };
}

/** This file as the load generator; stop() gives its per-100-ms status counts. */
async function startLoad(url, tokens, connections) {
  if (connections === 0) return { stop: async () => [], kill: async () => {} };
  const child = fork(fileURLToPath(import.meta.url), ['--role', 'load'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  process.once('exit', () => child.kill('SIGKILL'));
  const messages = [];
  let wake;
  child.on('message', (m) => (messages.push(m), wake?.()));
  const next = async () => {
    while (messages.length === 0) await new Promise((resolve) => (wake = resolve));
    return messages.shift();
  };
  child.send({ url, tokens, connections });
  await next();
  return {
    stop: async () => {
      child.send('stop');
      return (await next()).buckets;
    },
    kill: async () => void child.kill('SIGKILL'),
  };
}

/**
 * A TCP proxy in front of the server, in this process (as test/support/tcp-proxy.ts): `stall()`
 * keeps connections open and forwards nothing, `restore()` resets them and forwards again.
 */
function startProxy(targetPort) {
  const pairs = new Set();
  const held = new Set();
  let stalled = false;
  const server = net.createServer((client) => {
    if (stalled) {
      held.add(client);
      client.on('error', () => client.destroy()).pause();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair = [client, upstream];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        stall() {
          stalled = true;
          for (const [client, upstream] of pairs) {
            client.unpipe(upstream).pause();
            upstream.unpipe(client).pause();
          }
        },
        async restore() {
          for (const pair of pairs) for (const socket of pair) socket.destroy();
          for (const socket of held) socket.destroy();
          held.clear();
          stalled = false;
        },
        close: () => {
          for (const pair of pairs) for (const socket of pair) socket.destroy();
          for (const socket of held) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    ),
  );
}

// Last: everything above is initialized by now.
if (args.role === 'load') await loadGenerator();
else await driver();
