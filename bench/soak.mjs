// npm run soak: the real server (bench/server.mjs in its 'real' mode, built from dist/) under
// SOAK_CONNECTIONS (50) connections of MIXED traffic for SOAK_SECONDS_PG (60) s on PostgreSQL
// (BENCH_DATABASE_URL, default the machine's, in a fresh database created and dropped here), then
// SOAK_SECONDS_EMBEDDED (30) s on the embedded database (PGLITE_DATA_DIR=memory://).
//
// Each connection runs one session at a time through this cycle (one loop of autocannon's
// `requests`, its context fresh per loop):
//    0  acquire: POST /login (about SOAK_LOGINS_PER_SECOND of them in all: scrypt-bound), else a
//       session seeded up front by SQL (its refresh token made exactly as the app makes them), and
//       GET /me with it                                                                   → 200
//    1  GET /me (access token a0)                                                         → 200
//    2  POST /refresh (refresh token r0): a1, r1                                          → 200
//    3  GET /me (a1)                                                                      → 200
//    4  GET /me (a0: the session is the same, a0 is still good)                           → 200
//    5  POST /refresh (r1): a2, r2                                                        → 200
//    6  GET /me (a2)                                                                      → 200
//    7  POST /logout (bearer a2)                                                          → 200
//    8  GET /me (a2)                                                                      → 401
//    9  POST /refresh (r2, of the ended session)                                          → 401
//   10  GET /me (a0)                                                                      → 401
// A 200 must also say the right thing (the session's id and user on /me and /refresh, fresh tokens,
// the logout message); a 401 must be the token envelope. Anything else is a WRONG answer, and
// ends that cycle (its later expectations would no longer hold). A request left without answer
// (timeout, connection dropped) is LOST and ends the cycle too.
//
// The server's memory is sampled every second (process.memoryUsage() pushed over the fork's IPC
// channel by a probe loaded with --import); the mean of the first 10 s of load is compared with the
// mean of the last 10 s. Flat: neither heap used nor RSS grew by more than SOAK_MEM_MAX_GROWTH_PCT
// (15) % or SOAK_MEM_MAX_GROWTH_MIB (5) MiB, whichever is larger.
// After each phase the database is asked how many sessions logout ended and how many audit rows
// were written: they must match what the clients saw (up to the requests still in flight at the end).
//
// Exit code 1 on any 5xx, WRONG or LOST answer, a database count that does not match, or memory
// that is not flat.
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { API, serverEnv, tokenFor } from './common.mjs';
import { encodeRefreshToken, hashRefreshSecret } from '../dist/src/sessions/refresh-token.js';

const SECONDS = { postgres: Number(process.env.SOAK_SECONDS_PG ?? 60), embedded: Number(process.env.SOAK_SECONDS_EMBEDDED ?? 30) };
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 50);
const LOGINS_PER_SECOND = Number(process.env.SOAK_LOGINS_PER_SECOND ?? 1);
// Seeded sessions per second of load: each cycle uses one (~11 requests). Past them, cycles log in.
const SESSIONS_PER_SECOND = Number(process.env.SOAK_SESSIONS_PER_SECOND ?? 1000);
const USERS = Number(process.env.SOAK_USERS ?? 10);
const MEM_WINDOW_S = 10;
const MEM_MAX_GROWTH_PCT = Number(process.env.SOAK_MEM_MAX_GROWTH_PCT ?? 15);
const MEM_MAX_GROWTH_MIB = Number(process.env.SOAK_MEM_MAX_GROWTH_MIB ?? 5);
const LOG_LEVEL = process.env.SOAK_LOG_LEVEL ?? 'warn';
const PORT = Number(process.env.SOAK_PORT ?? 3993);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASES = (process.env.SOAK_DATABASES ?? 'postgres,embedded').split(',');
const MiB = 1024 * 1024;
const INVALID_TOKEN = 'Token no proporcionado o inválido';
const LOGGED_OUT = 'Sesión cerrada exitosamente';

// Loaded into the server with --import: its memory, every second, over the IPC channel. With
// SOAK_GC (default on) a full garbage collection runs just before each sample, so that heap used is
// what is live, not how far V8 let garbage pile up before its next major collection (without it,
// heap used saws between ~50 and ~125 MiB over ~30 s on this app, and a 10 s mean says little).
const FORCE_GC = process.env.SOAK_GC !== '0';
const MEMORY_PROBE = `setInterval(() => {
  const start = performance.now();
  ${FORCE_GC ? 'globalThis.gc();' : ''}
  const gcMs = performance.now() - start;
  const { rss, heapUsed } = process.memoryUsage();
  process.send?.({ memory: { t: Date.now(), rss, heapUsed, gcMs } });
}, 1000).unref();`;

/** bench/server.mjs 'real' as a child process: SQL through its own DataSource, memory samples. */
async function startServer(port, env) {
  const child = fork(new URL('./server.mjs', import.meta.url), ['real', String(port)], {
    env,
    execArgv: [...(FORCE_GC ? ['--expose-gc'] : []), '--import', `data:text/javascript,${encodeURIComponent(MEMORY_PROBE)}`],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  const samples = [];
  let ready;
  const started = new Promise((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.on('message', (msg) => {
    if (msg.memory) return void samples.push(msg.memory);
    if (msg.ready) return ready();
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) reject(new Error(msg.error));
    else resolve(msg.rows);
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  await started;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    samples,
    sql: (sql, params = []) =>
      new Promise((resolve, reject) => {
        const id = randomUUID();
        pending.set(id, { resolve, reject });
        child.send({ id, sql, params });
      }),
    stop: () =>
      new Promise((resolve) => {
        process.off('exit', kill);
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** `count` live sessions spread over the users, straight into the table, each with its first refresh token. */
async function seedSessions(server, users, count) {
  const pool = [];
  for (let done = 0; done < count; done += 5000) {
    const ids = [];
    const userIds = [];
    const hashes = [];
    for (let i = done; i < Math.min(count, done + 5000); i++) {
      const user = users[i % users.length];
      const sessionId = randomUUID();
      const secret = randomBytes(32);
      ids.push(sessionId);
      userIds.push(user.id);
      hashes.push(hashRefreshSecret(secret).toString('hex'));
      pool.push({ user, sessionId, refreshToken: encodeRefreshToken({ sessionId, generation: 0, secret }) });
    }
    await server.sql(
      `INSERT INTO sessions (id, user_id, expires_at, refresh_token_hash)
       SELECT id, user_id, now() + interval '1 day', decode(h, 'hex') FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(id, user_id, h)`,
      [ids, userIds, hashes],
    );
  }
  return pool;
}

const parse = (body) => {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};
const get = (path, token) => ({ method: 'GET', path: `${API}${path}`, headers: { authorization: `Bearer ${token}` }, body: undefined });
const post = (path, body, token) => ({
  method: 'POST',
  path: `${API}${path}`,
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

// What a right answer says, beyond its status; a string names what is wrong.
const isMe = (j, c) =>
  j?.success === true && j.data?.sessionId === c.sessionId && j.data?.id === c.user.id && j.data?.email === c.user.email
    ? undefined
    : 'not this session/user';
const isTokens = (j, c) =>
  j?.success === true &&
  typeof j.data?.accessToken === 'string' &&
  typeof j.data?.refreshToken === 'string' &&
  j.data.refreshToken !== c.refreshToken &&
  (c.sessionId === undefined || j.data.sessionId === c.sessionId)
    ? undefined
    : 'not fresh tokens of this session';
const isRefused = (j) => (j?.success === false && j.message === INVALID_TOKEN ? undefined : 'not the token envelope');
const isLoggedOut = (j) => (j?.success === true && j.message === LOGGED_OUT ? undefined : 'not the logout message');
const takeTokens = (j) => ({ sessionId: j.data.sessionId, access: j.data.accessToken, refreshToken: j.data.refreshToken });

/** One phase: a server on `database`, users and sessions seeded, `seconds` of mixed load. */
async function soak(database, seconds) {
  const server = await startServer(PORT, serverEnv(database, LOG_LEVEL));
  try {
    const password = 'soak-password-1';
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const email = `soak-${i}-${randomUUID()}@example.com`;
        const res = await fetch(`${server.url}${API}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
        });
        if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
        return { id: (await res.json()).data.id, email, password };
      }),
    );
    const poolSize = Math.ceil(seconds * SESSIONS_PER_SECOND);
    const pool = await seedSessions(server, users, poolSize);

    const routes = {};
    const route = (name) => (routes[name] ??= { count: 0, latencies: [] });
    const wrong = {};
    const examples = [];
    let fiveXX = 0;
    let lost = 0;
    let logins = 0;
    let poolOut = 0;
    let nextLoginAt = 0;
    let userTurn = 0;

    // The cycle: each step says what to send given the cycle's context, and what must come back.
    const steps = [
      (c) => {
        const now = performance.now();
        if (now >= nextLoginAt || pool.length === 0) {
          if (pool.length === 0) poolOut++;
          nextLoginAt = now + 1000 / LOGINS_PER_SECOND;
          logins++;
          c.user = users[userTurn++ % users.length];
          return {
            name: 'POST /login',
            route: 'POST /login',
            req: post('/login', { email: c.user.email, password: c.user.password }),
            expect: 200,
            check: isTokens,
            keep: (j) => Object.assign(c, takeTokens(j), { a0: j.data.accessToken }),
          };
        }
        const seeded = pool.pop();
        Object.assign(c, { user: seeded.user, sessionId: seeded.sessionId, refreshToken: seeded.refreshToken });
        c.a0 = c.access = tokenFor(seeded.user.id, seeded.sessionId);
        return { name: 'GET /me (seeded session)', route: 'GET /me', req: get('/me', c.a0), expect: 200, check: isMe };
      },
      (c) => ({ name: 'GET /me (live)', route: 'GET /me', req: get('/me', c.a0), expect: 200, check: isMe }),
      (c) => ({
        name: 'POST /refresh (current)',
        route: 'POST /refresh',
        req: post('/refresh', { refreshToken: c.refreshToken }),
        expect: 200,
        check: isTokens,
        keep: (j) => Object.assign(c, takeTokens(j)),
      }),
      (c) => ({ name: 'GET /me (refreshed token)', route: 'GET /me', req: get('/me', c.access), expect: 200, check: isMe }),
      (c) => ({ name: 'GET /me (older token, live session)', route: 'GET /me', req: get('/me', c.a0), expect: 200, check: isMe }),
      (c) => ({
        name: 'POST /refresh (successor)',
        route: 'POST /refresh',
        req: post('/refresh', { refreshToken: c.refreshToken }),
        expect: 200,
        check: isTokens,
        keep: (j) => Object.assign(c, takeTokens(j)),
      }),
      (c) => ({ name: 'GET /me (refreshed twice)', route: 'GET /me', req: get('/me', c.access), expect: 200, check: isMe }),
      (c) => ({ name: 'POST /logout (live)', route: 'POST /logout', req: post('/logout', {}, c.access), expect: 200, check: isLoggedOut }),
      (c) => ({ name: 'GET /me (logged out)', route: 'GET /me', req: get('/me', c.access), expect: 401, check: isRefused }),
      (c) => ({
        name: 'POST /refresh (logged out)',
        route: 'POST /refresh',
        req: post('/refresh', { refreshToken: c.refreshToken }),
        expect: 401,
        check: isRefused,
      }),
      (c) => ({ name: 'GET /me (older token, logged out)', route: 'GET /me', req: get('/me', c.a0), expect: 401, check: isRefused }),
    ];

    const setupRequest = (i) => (req, c) => {
      if (i > 0 && (c.pending || c.broken)) {
        if (c.pending) lost++;
        return null; // autocannon starts the cycle over, with a fresh context
      }
      const step = steps[i](c);
      c.pending = { ...step, sentAt: performance.now() };
      return { ...req, ...step.req };
    };
    const onResponse = (status, body, c) => {
      const step = c.pending;
      c.pending = null;
      if (!step) return;
      const r = route(step.route);
      r.count++;
      r.latencies.push(performance.now() - step.sentAt);
      if (status >= 500) fiveXX++;
      const json = parse(body);
      const problem = status !== step.expect ? `status ${status}` : step.check?.(json, c);
      if (problem) {
        c.broken = true;
        wrong[step.name] = (wrong[step.name] ?? 0) + 1;
        if (examples.length < 5) examples.push(`${step.name}: expected ${step.expect}, got ${status} (${problem}): ${String(body).slice(0, 200)}`);
        return;
      }
      step.keep?.(json, c);
    };

    const t0 = Date.now();
    const result = await autocannon({
      url: server.url,
      connections: CONNECTIONS,
      duration: seconds,
      requests: steps.map((_, i) => ({ setupRequest: setupRequest(i), onResponse })),
    });
    const t1 = Date.now();
    await sleep(1500); // what was in flight when autocannon stopped lands before the database is asked

    // What the clients saw, against what the database recorded.
    const [ended] = await server.sql(
      `SELECT count(*) FILTER (WHERE ended_reason = 'logout')::int AS logout,
              count(*) FILTER (WHERE revoked_at IS NOT NULL AND ended_reason IS DISTINCT FROM 'logout')::int AS other
         FROM sessions`,
    );
    const [audit] = await server.sql(
      `SELECT count(*) FILTER (WHERE event = 'logout')::int AS logout, count(*) FILTER (WHERE event = 'login')::int AS login,
              count(*) FILTER (WHERE event = 'register')::int AS register,
              count(*) FILTER (WHERE event NOT IN ('logout', 'login', 'register'))::int AS other
         FROM audit_events`,
    );
    const ok200 = (name) => (routes[name]?.count ?? 0) - Object.entries(wrong).filter(([k]) => k.startsWith(name)).reduce((n, [, v]) => n + v, 0);
    const logouts200 = ok200('POST /logout');
    const logins200 = ok200('POST /login');
    const within = (n, seen) => n >= seen && n <= seen + CONNECTIONS;
    const dbProblems = [];
    if (!within(ended.logout, logouts200)) dbProblems.push(`sessions ended by logout: ${ended.logout}, logouts answered 200: ${logouts200}`);
    if (!within(audit.logout, logouts200)) dbProblems.push(`logout audit rows: ${audit.logout}, logouts answered 200: ${logouts200}`);
    if (!within(audit.login, logins200)) dbProblems.push(`login audit rows: ${audit.login}, logins answered 200: ${logins200}`);
    if (audit.register !== USERS) dbProblems.push(`register audit rows: ${audit.register}, users registered: ${USERS}`);
    if (ended.other > 0 || audit.other > 0) dbProblems.push(`sessions ended otherwise: ${ended.other}, other audit rows: ${audit.other}`);

    return {
      seconds: (t1 - t0) / 1000,
      result,
      routes,
      wrong,
      examples,
      fiveXX,
      lost,
      logins,
      poolSize,
      poolOut,
      db: { ended, audit, logouts200, logins200, problems: dbProblems },
      memory: memoryReport(server.samples, t0, t1),
    };
  } finally {
    await server.stop();
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (xs, p) => {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

function memoryReport(samples, t0, t1) {
  const during = samples.filter((s) => s.t >= t0 && s.t <= t1);
  const first = during.filter((s) => s.t < t0 + MEM_WINDOW_S * 1000);
  const last = during.filter((s) => s.t > t1 - MEM_WINDOW_S * 1000);
  const of = (key) => {
    const a = mean(first.map((s) => s[key])) / MiB;
    const b = mean(last.map((s) => s[key])) / MiB;
    const growth = b - a;
    const flat = growth <= Math.max(MEM_MAX_GROWTH_MIB, (MEM_MAX_GROWTH_PCT / 100) * a);
    return { first: a, last: b, growth, percent: (growth / a) * 100, flat };
  };
  // Least-squares slope over every sample of the run, in MiB per minute: a slow leak shows here first.
  const slope = (key) => {
    const xs = during.map((s) => (s.t - t0) / 60_000);
    const ys = during.map((s) => s[key] / MiB);
    const mx = mean(xs);
    const my = mean(ys);
    return xs.reduce((n, x, i) => n + (x - mx) * (ys[i] - my), 0) / xs.reduce((n, x) => n + (x - mx) ** 2, 0);
  };
  return {
    trend: { heapUsed: slope('heapUsed'), rss: slope('rss') },
    samples: during.length,
    gcMs: mean(during.map((s) => s.gcMs)),
    firstN: first.length,
    lastN: last.length,
    heapUsed: of('heapUsed'),
    rss: of('rss'),
    series: during.map((s) => `${Math.round(s.heapUsed / MiB)}/${Math.round(s.rss / MiB)}`).join(' '),
  };
}

function report(name, r) {
  const total = Object.values(r.routes).reduce((n, x) => n + x.count, 0);
  const wrongTotal = Object.values(r.wrong).reduce((a, b) => a + b, 0);
  const lines = [
    `\n${name}: ${r.seconds.toFixed(1)} s, ${CONNECTIONS} connections, ${total} answers (${Math.round(total / r.seconds)} req/s), LOG_LEVEL=${LOG_LEVEL}`,
  ];
  for (const [k, v] of Object.entries(r.routes).sort((a, b) => b[1].count - a[1].count)) {
    lines.push(
      `  ${k.padEnd(14)} ${String(v.count).padStart(8)}  ${String(Math.round(v.count / r.seconds)).padStart(6)} req/s  ` +
        `${((100 * v.count) / total).toFixed(1).padStart(5)} %  p50 ${pct(v.latencies, 50).toFixed(1)} ms  p99 ${pct(v.latencies, 99).toFixed(1)} ms`,
    );
  }
  lines.push(`  logins: ${r.logins} (seeded sessions: ${r.poolSize}, cycles that found none left: ${r.poolOut})`);
  lines.push(`  5xx: ${r.fiveXX}`);
  lines.push(`  WRONG answers: ${wrongTotal}${wrongTotal ? `  ${JSON.stringify(r.wrong)}` : ''}`);
  for (const e of r.examples) lines.push(`    e.g. ${e}`);
  lines.push(
    `  LOST (no answer): ${r.lost}; autocannon errors ${r.result.errors}, timeouts ${r.result.timeouts}, resets ${r.result.resets}`,
  );
  lines.push(
    `  database: ${r.db.ended.logout} sessions ended by logout, ${r.db.audit.logout} logout and ${r.db.audit.login} login audit rows ` +
      `(clients saw ${r.db.logouts200} logouts and ${r.db.logins200} logins answered 200; at most ${CONNECTIONS} more in flight at the end): ` +
      (r.db.problems.length ? `MISMATCH: ${r.db.problems.join('; ')}` : 'consistent'),
  );
  const m = r.memory;
  const line = (label, x) =>
    `  ${label} first ${MEM_WINDOW_S} s ${x.first.toFixed(1)} MiB, last ${MEM_WINDOW_S} s ${x.last.toFixed(1)} MiB: ` +
    `${x.growth >= 0 ? '+' : ''}${x.growth.toFixed(1)} MiB (${x.percent >= 0 ? '+' : ''}${x.percent.toFixed(1)} %) ${x.flat ? 'flat' : 'NOT FLAT'}`;
  lines.push(
    `  memory, ${m.samples} samples (${m.firstN} and ${m.lastN} in the windows${r.seconds < 2 * MEM_WINDOW_S ? ', which overlap: run longer' : ''})` +
      (FORCE_GC ? `, after a full GC each (mean pause ${m.gcMs.toFixed(1)} ms):` : ', no forced GC:'),
  );
  lines.push(line('heap used', m.heapUsed));
  lines.push(line('RSS      ', m.rss));
  const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  lines.push(`  trend over the run (least squares): heap ${signed(m.trend.heapUsed)} MiB/min, RSS ${signed(m.trend.rss)} MiB/min`);
  lines.push(`  heap/RSS MiB each second: ${m.series}`);
  const failures = [];
  if (r.fiveXX) failures.push(`${r.fiveXX} 5xx`);
  if (wrongTotal) failures.push(`${wrongTotal} wrong answers`);
  if (r.lost || r.result.errors || r.result.timeouts) failures.push('requests without answer');
  if (r.db.problems.length) failures.push('database counts');
  if (!m.firstN || !m.lastN) failures.push('no memory samples');
  else {
    if (!m.heapUsed.flat) failures.push('heap not flat');
    if (!m.rss.flat) failures.push('RSS not flat');
  }
  lines.push(`  => ${failures.length ? `FAIL: ${failures.join(', ')}` : 'PASS'}`);
  const text = lines.join('\n');
  console.log(text);
  return { text, failed: failures.length > 0 };
}

console.log(
  `soak: mixed login (~${LOGINS_PER_SECOND}/s) / me / refresh / logout; memory flat = growth of the ${MEM_WINDOW_S} s means ` +
    `(first vs last) at most ${MEM_MAX_GROWTH_PCT} % or ${MEM_MAX_GROWTH_MIB} MiB, whichever is larger, for heap used and RSS; ` +
    `${FORCE_GC ? 'a full GC in the server before each sample (SOAK_GC=0: none)' : 'no forced GC (SOAK_GC=0)'}`,
);
const reports = [];
for (const kind of DATABASES) {
  const seconds = SECONDS[kind];
  if (kind === 'postgres') {
    const name = `auth_soak_${Date.now()}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    try {
      console.log(`PostgreSQL (${url.host}, fresh database ${name}), ${seconds} s…`);
      reports.push(report('PostgreSQL', await soak({ url: url.toString() }, seconds)));
    } finally {
      await sleep(500);
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  } else {
    console.log(`embedded database (PGlite, memory://), ${seconds} s…`);
    reports.push(report('embedded (PGlite, memory://)', await soak({}, seconds)));
  }
}
console.log(`\n=== soak summary${reports.map((r) => r.text).join('\n')}`);
process.exitCode = reports.some((r) => r.failed) ? 1 : 0;
