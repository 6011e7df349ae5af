// npm run soak: the real server (bench/server.mjs 'real', built from dist/) under sustained mixed
// traffic, SOAK_SECONDS (240) s a run, twice: `plain`, then `webhook` (the same load with a webhook
// endpoint configured, a local receiver answering 204 at once, and a listener on the event stream).
// On PostgreSQL by default, in a fresh database per run. docs/performance.md ("Soak") says what it
// runs and asserts, and how to run it; in short:
//
//   npm run soak                                  # 2 × 240 s on a fresh database on SOAK_PG_ADMIN_URL
//   npm run soak -- --short                       # 2 × 30 s, seeded sessions backdated: a try-out
//   SOAK_DATABASE_URL=postgres://… npm run soak   # an existing database, as is (counts scoped to the run's users)
//   npm run soak -- --embedded                    # the embedded database (PGlite in memory)
//
// Each of the SOAK_CONNECTIONS (50) connections repeats this cycle (autocannon's `requests`, a fresh
// context per cycle):
//    0  GET /me with one of SOAK_LONG_LIVED (20) long-lived sessions, logged in before the load → 200
//       (or, about once a second across all connections, POST /login: its session is the one ended below)
//    1  GET /me, long-lived                                                                   → 200
//    2  GET /me, long-lived                                                                   → 200
//    3  POST /logout of a distinct session: seeded by SQL before the load (so after the first minute
//       it is older than 60 s and its `last_used_at` touch is due), or the cycle's login      → 200
//    4  GET /me with the ended session's token                                                → 401
//    5  POST /refresh with the ended session's refresh token                                  → 401
// A 200 must say the right thing (the session and user on /me, fresh tokens, the logout message), a
// 401 must be the token envelope: anything else is WRONG and ends that cycle. A request left without
// an answer is LOST. The long-lived sessions are used continuously, so their touch runs each minute.
//
// It fails (exit 1) on: any 5xx, WRONG or LOST answer; any line of level >= 50 (error) in the
// server's log; RSS not flat (mean of the last quarter after the warm-up > SOAK_RSS_MAX_RATIO (1.25) ×
// that of the first quarter); throughput not steady (answers per 5 s, median of the last quarter after
// the warm-up < SOAK_THROUGHPUT_MIN_RATIO (0.8) × that of the first quarter); database counts that
// do not match what the clients saw; the seeded sessions running out. In the webhook run also: a
// backlog that does not drain (not every event of the run delivered within SOAK_DRAIN_SECONDS (30) s
// after the load stopped), or a logout answered 200 whose session.ended the stream listener never got.
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { API, EVENTS_CLIENT, listenToStream, serverEnv, startServer, tokenFor, withFreshDatabase } from './common.mjs';
import { encodeRefreshToken, hashRefreshSecret } from '../dist/src/sessions/refresh-token.js';

const { values: flags } = parseArgs({ options: { short: { type: 'boolean' }, embedded: { type: 'boolean' } } });
const env = process.env;
const SHORT = flags.short || env.SOAK_SHORT === '1';
const EMBEDDED = flags.embedded || env.SOAK_DATABASE === 'embedded';
const SECONDS = Number(env.SOAK_SECONDS ?? (SHORT ? 30 : 240));
// 90 s: the sessions' touch only starts once they are a minute old, and the server's heap takes
// about half a minute more to reach the size that load needs; memory is judged after both.
const WARMUP_SECONDS = Number(env.SOAK_WARMUP_SECONDS ?? (SHORT ? 5 : 90));
const WINDOW_MS = 5000;
const CONNECTIONS = Number(env.SOAK_CONNECTIONS ?? 50);
const LONG_LIVED = Number(env.SOAK_LONG_LIVED ?? 20);
const USERS = Number(env.SOAK_USERS ?? 10);
const LOGINS_PER_SECOND = Number(env.SOAK_LOGINS_PER_SECOND ?? 1);
// Seeded sessions per second of load, one per cycle's logout: more than the server can end.
const SESSIONS_PER_SECOND = Number(env.SOAK_SESSIONS_PER_SECOND ?? 1200);
const RSS_MAX_RATIO = Number(env.SOAK_RSS_MAX_RATIO ?? 1.25);
const THROUGHPUT_MIN_RATIO = Number(env.SOAK_THROUGHPUT_MIN_RATIO ?? 0.8);
const DRAIN_SECONDS = Number(env.SOAK_DRAIN_SECONDS ?? 30);
const RUNS = (env.SOAK_RUNS ?? 'plain,webhook').split(',');
const LOG_LEVEL = env.SOAK_LOG_LEVEL ?? 'warn';
const PORT = Number(env.SOAK_PORT ?? 3993);
const ADMIN_URL = env.SOAK_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE_URL = env.SOAK_DATABASE_URL;
const MiB = 1024 * 1024;
const INVALID_TOKEN = 'Token no proporcionado o inválido';
const LOGGED_OUT = 'Sesión cerrada exitosamente';
const PASSWORD = 'soak-password-1';

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const pct = (xs, p) => {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const parse = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Per 5 s window since `t0` (Date.now()): counters, created on first use. */
function windows() {
  const all = [];
  let t0;
  return {
    all,
    start: (t) => (t0 = t),
    at: (t = Date.now()) => {
      if (t0 === undefined || t < t0) return {};
      const i = Math.floor((t - t0) / WINDOW_MS);
      // `load`: the machine's load average as the window starts, to tell a shared machine's noise from the server.
      for (let k = all.length; k <= i; k++) all.push({ answers: 0, fiveXX: 0, logouts: 0, errorLines: 0, delivered: 0, streamed: 0, delayMax: 0, load: os.loadavg()[0] });
      return all[i];
    },
  };
}

/** The server's log, all of it to a file: errors (level >= 50) counted per window and a few kept, errors and warnings grouped by message. */
function serverLog(path, win) {
  const file = createWriteStream(path);
  const log = { path, errors: 0, warnings: 0, unparsed: 0, byMessage: { 40: {}, 50: {} }, examples: [] };
  log.onLine = (line) => {
    file.write(`${line}\n`);
    const entry = parse(line);
    if (typeof entry?.level !== 'number') {
      log.unparsed++;
      if (log.examples.length < 5) log.examples.push(`(not JSON) ${line.slice(0, 200)}`);
      return;
    }
    if (entry.level < 40) return;
    const err = typeof entry.err === 'object' ? [entry.err.code, entry.err.routine, entry.err.message].filter(Boolean).join(' ') : entry.err;
    const what = `${entry.msg ?? ''}${err ? `: ${String(err).slice(0, 120)}` : ''}`;
    const level = entry.level >= 50 ? 50 : 40;
    log.byMessage[level][what] = (log.byMessage[level][what] ?? 0) + 1;
    if (level === 40) return void log.warnings++;
    log.errors++;
    win.at().errorLines++;
    if (log.examples.length < 3) log.examples.push(line.slice(0, 300));
  };
  log.close = () => new Promise((resolve) => file.end(resolve));
  return log;
}

/** A webhook endpoint on this machine: 204 at once; counts deliveries by webhook-id, and how late each came. */
async function startReceiver(win, userIds) {
  const receiver = { delivered: new Set(), duplicates: 0, delaysMs: [], url: '' };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(204).end();
      const id = req.headers['webhook-id'];
      const event = parse(Buffer.concat(chunks).toString());
      if (!userIds.has(event?.data?.userId)) return;
      if (receiver.delivered.has(id)) return void receiver.duplicates++;
      receiver.delivered.add(id);
      const now = Date.now();
      const delay = now - Date.parse(event.timestamp);
      receiver.delaysMs.push(delay);
      const w = win.at(now);
      w.delivered++;
      w.delayMax = Math.max(w.delayMax, delay);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/hook`;
  receiver.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return receiver;
}

/** `count` live sessions spread over the users, straight into the table, each with its first refresh token. */
async function seedSessions(server, users, count, backdate) {
  const pool = [];
  const since = backdate ? "now() - interval '2 minutes'" : 'now()';
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
      `INSERT INTO sessions (id, user_id, expires_at, access_expires_at, refresh_token_hash, created_at, last_used_at)
       SELECT id, user_id, now() + interval '1 day', now() + interval '1 hour', decode(h, 'hex'), ${since}, ${since}
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(id, user_id, h)`,
      [ids, userIds, hashes],
    );
  }
  return pool;
}

const get = (path, token) => ({ method: 'GET', path: `${API}${path}`, headers: { authorization: `Bearer ${token}` }, body: undefined });
const post = (path, body, token) => ({
  method: 'POST',
  path: `${API}${path}`,
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

// What a right answer says, beyond its status; a string names what is wrong.
const isMe = (session) => (j) =>
  j?.success === true && j.data?.sessionId === session.sessionId && j.data?.id === session.user.id ? undefined : 'not this session/user';
const isTokens = (j) =>
  j?.success === true && typeof j.data?.accessToken === 'string' && typeof j.data?.refreshToken === 'string' && typeof j.data?.sessionId === 'string'
    ? undefined
    : 'not a session and its tokens';
const isRefused = (j) => (j?.success === false && j.message === INVALID_TOKEN ? undefined : 'not the token envelope');
const isLoggedOut = (j) => (j?.success === true && j.message === LOGGED_OUT ? undefined : 'not the logout message');

/** One run: a server on `databaseUrl` (undefined: embedded), users and sessions, SECONDS of load, the checks. */
async function soak(name, databaseUrl) {
  const withWebhook = name === 'webhook';
  const win = windows();
  const log = serverLog(join(os.tmpdir(), `soak-${name}-${Date.now()}.log`), win);
  const userIds = new Set();
  const receiver = withWebhook ? await startReceiver(win, userIds) : undefined;
  const server = await startServer(
    'real',
    PORT,
    {
      ...serverEnv(databaseUrl ? { url: databaseUrl } : {}, LOG_LEVEL),
      // The long-lived sessions' access tokens (from their logins before the load) outlive the run.
      JWT_ACCESS_TTL: String(Math.max(900, SECONDS + 300)),
      ...(withWebhook
        ? {
            WEBHOOK_ENDPOINTS: `${receiver.url}|whsec_${randomBytes(32).toString('base64')}`,
            INTROSPECTION_CLIENTS: `${EVENTS_CLIENT.id}:${EVENTS_CLIENT.secret}`,
          }
        : {}),
    },
    { onLine: log.onLine },
  );
  let stream;
  try {
    const call = async (path, body, expect) => {
      const res = await fetch(`${server.url}${API}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== expect) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()).data;
    };
    const users = [];
    for (let i = 0; i < USERS; i++) {
      const email = `soak-${i}-${randomUUID()}@example.com`;
      users.push({ id: (await call('/register', { email, password: PASSWORD }, 201)).id, email });
      userIds.add(users[i].id);
    }
    const longLived = [];
    for (let i = 0; i < LONG_LIVED; i++) {
      const user = users[i % USERS];
      const session = await call('/login', { email: user.email, password: PASSWORD }, 200);
      longLived.push({ user, sessionId: session.sessionId, access: session.accessToken });
    }
    const seedStart = Date.now();
    const pool = await seedSessions(server, users, Math.ceil(SECONDS * SESSIONS_PER_SECOND), SHORT);
    const seedSeconds = (Date.now() - seedStart) / 1000;

    const streamed = new Map(); // sessionId → { id, at }: the event's id and time
    if (withWebhook) {
      stream = await listenToStream(server.url, (event) => {
        if (!userIds.has(event.data.userId)) return;
        streamed.set(event.data.sessionId, { id: event.id, at: Date.parse(event.timestamp) });
        win.at().streamed++;
      });
    }

    const routes = {};
    const wrong = {};
    const examples = [];
    const loggedOut = [];
    let fiveXX = 0;
    let lost = 0;
    let logins = 0;
    let poolOut = 0;
    let nextLoginAt = 0;
    let turn = 0;
    const nextLongLived = () => longLived[turn++ % longLived.length];
    const meLongLived = () => {
      const session = nextLongLived();
      return { name: 'GET /me (long-lived)', route: 'GET /me', req: get('/me', session.access), expect: 200, check: isMe(session) };
    };

    // Each step says what to send given the cycle's context, and what must come back.
    const steps = [
      (c) => {
        const now = performance.now();
        if (now < nextLoginAt) return meLongLived();
        nextLoginAt = now + 1000 / LOGINS_PER_SECOND;
        logins++;
        const user = users[logins % USERS];
        return {
          name: 'POST /login',
          route: 'POST /login',
          req: post('/login', { email: user.email, password: PASSWORD }),
          expect: 200,
          check: isTokens,
          keep: (j) => (c.victim = { user, sessionId: j.data.sessionId, refreshToken: j.data.refreshToken, access: j.data.accessToken }),
        };
      },
      meLongLived,
      meLongLived,
      (c) => {
        if (!c.victim) {
          const seeded = pool.pop();
          if (!seeded) return void poolOut++;
          c.victim = { ...seeded, access: tokenFor(seeded.user.id, seeded.sessionId) };
        }
        return {
          name: 'POST /logout',
          route: 'POST /logout',
          req: post('/logout', {}, c.victim.access),
          expect: 200,
          check: isLoggedOut,
          keep: () => {
            loggedOut.push(c.victim.sessionId);
            win.at().logouts++;
          },
        };
      },
      (c) => ({ name: 'GET /me (ended session)', route: 'GET /me', req: get('/me', c.victim.access), expect: 401, check: isRefused }),
      (c) => ({
        name: 'POST /refresh (ended session)',
        route: 'POST /refresh',
        req: post('/refresh', { refreshToken: c.victim.refreshToken }),
        expect: 401,
        check: isRefused,
      }),
    ];

    const setupRequest = (i) => (req, c) => {
      if (i > 0 && (c.pending || c.broken)) {
        if (c.pending) lost++;
        return null; // autocannon starts the cycle over, with a fresh context
      }
      const step = steps[i](c);
      if (!step) return null;
      c.pending = { ...step, sentAt: performance.now() };
      return { ...req, ...step.req };
    };
    const onResponse = (status, body, c) => {
      const step = c.pending;
      c.pending = null;
      if (!step) return;
      const r = (routes[step.route] ??= { count: 0, latencies: [] });
      r.count++;
      r.latencies.push(performance.now() - step.sentAt);
      const w = win.at();
      w.answers++;
      if (status >= 500) {
        fiveXX++;
        w.fiveXX++;
      }
      const json = parse(body);
      const problem = status !== step.expect ? `status ${status}` : step.check(json);
      if (problem) {
        c.broken = true;
        wrong[step.name] = (wrong[step.name] ?? 0) + 1;
        if (examples.length < 5) examples.push(`${step.name}: expected ${step.expect}, got ${status} (${problem}): ${String(body).slice(0, 200)}`);
        return;
      }
      step.keep?.(json);
    };

    const t0 = Date.now();
    win.start(t0);
    const result = await autocannon({
      url: server.url,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: steps.map((_, i) => ({ setupRequest: setupRequest(i), onResponse })),
    });
    const t1 = Date.now();
    await sleep(1500); // what was in flight when autocannon stopped lands before the database is asked

    // The webhook backlog after the load: ended (the database's events) against delivered, until drained.
    const scope = [[...userIds]];
    const eventCount = async () => (await server.sql('SELECT count(*)::int AS n FROM session_events WHERE user_id = ANY($1::uuid[])', scope))[0].n;
    let drain;
    if (withWebhook) {
      const atStop = { ended: await eventCount(), delivered: receiver.delivered.size };
      // How old the oldest event not delivered yet was when the load stopped: how far behind deliveries ran.
      const oldest = [...streamed.values()].reduce((min, e) => (receiver.delivered.has(`evt_${e.id}`) ? min : Math.min(min, e.at)), Infinity);
      let drainedAfter;
      let ended = atStop.ended;
      for (let s = 0; s <= DRAIN_SECONDS; s++) {
        ended = await eventCount();
        if (receiver.delivered.size >= ended && loggedOut.every((id) => streamed.has(id))) {
          drainedAfter = (Date.now() - t1) / 1000;
          break;
        }
        if (s < DRAIN_SECONDS) await sleep(1000);
      }
      drain = {
        atStop,
        lagAtStop: Number.isFinite(oldest) ? (t1 - oldest) / 1000 : 0,
        ended,
        delivered: receiver.delivered.size,
        duplicates: receiver.duplicates,
        drainedAfter,
        streamed: streamed.size,
        streamMissing: loggedOut.filter((id) => !streamed.has(id)).length,
        reconnects: stream.reconnects,
        delaysMs: receiver.delaysMs,
      };
    }

    // What the clients saw, against what the database recorded.
    const [db] = await server.sql(
      `SELECT (SELECT count(*) FROM sessions WHERE user_id = ANY($1::uuid[]) AND ended_reason = 'logout')::int AS "endedByLogout",
              (SELECT count(*) FROM sessions WHERE user_id = ANY($1::uuid[]) AND revoked_at IS NOT NULL AND ended_reason IS DISTINCT FROM 'logout')::int AS "endedOtherwise",
              (SELECT count(*) FROM audit_events WHERE user_id = ANY($1::uuid[]) AND event = 'logout')::int AS "auditLogout",
              (SELECT count(*) FROM audit_events WHERE user_id = ANY($1::uuid[]) AND event = 'login')::int AS "auditLogin",
              (SELECT count(*) FROM session_events WHERE user_id = ANY($1::uuid[]))::int AS events`,
      scope,
    );
    const ok = (route) => (routes[route]?.count ?? 0) - (wrong[route] ?? 0);
    const logouts200 = loggedOut.length;
    const logins200 = ok('POST /login');
    const within = (n, seen) => n >= seen && n <= seen + CONNECTIONS;
    const dbProblems = [];
    if (!within(db.endedByLogout, logouts200)) dbProblems.push(`sessions ended by logout ${db.endedByLogout}, logouts answered 200 ${logouts200}`);
    if (!within(db.auditLogout, logouts200)) dbProblems.push(`logout audit rows ${db.auditLogout}, logouts answered 200 ${logouts200}`);
    if (!within(db.auditLogin, LONG_LIVED + logins200)) dbProblems.push(`login audit rows ${db.auditLogin}, logins answered 200 ${LONG_LIVED + logins200}`);
    if (db.events !== db.endedByLogout + db.endedOtherwise) dbProblems.push(`session.ended events ${db.events}, sessions ended ${db.endedByLogout + db.endedOtherwise}`);
    if (db.endedOtherwise > 0) dbProblems.push(`sessions ended otherwise ${db.endedOtherwise}`);

    return {
      name,
      t0,
      t1,
      seedSeconds,
      poolSize: Math.ceil(SECONDS * SESSIONS_PER_SECOND),
      result,
      routes,
      wrong,
      examples,
      fiveXX,
      lost,
      logins,
      logins200,
      logouts200,
      poolOut,
      db,
      dbProblems,
      drain,
      windows: win.all,
      samples: server.samples,
      log,
    };
  } finally {
    stream?.close();
    await server.stop();
    await receiver?.close();
    await log.close();
  }
}

/** The windows after the warm-up that the load covered whole; their first and last quarter. */
function quarters(r) {
  const firstWindow = Math.ceil((WARMUP_SECONDS * 1000) / WINDOW_MS);
  const lastWindow = Math.floor((r.t1 - r.t0) / WINDOW_MS) - 1;
  const indexes = [];
  for (let i = firstWindow; i <= lastWindow; i++) indexes.push(i);
  const n = Math.max(1, Math.floor(indexes.length / 4));
  return { all: indexes, first: indexes.slice(0, n), last: indexes.slice(-n) };
}

function report(r) {
  const lines = [];
  const failures = [];
  const total = Object.values(r.routes).reduce((n, x) => n + x.count, 0);
  const seconds = (r.t1 - r.t0) / 1000;
  lines.push(`\n## ${r.name}: ${seconds.toFixed(1)} s, ${CONNECTIONS} connections, ${total} answers (${Math.round(total / seconds)} req/s), LOG_LEVEL=${LOG_LEVEL}`);
  lines.push(`  seeded ${r.poolSize} sessions in ${r.seedSeconds.toFixed(1)} s${SHORT ? ' (backdated 2 minutes: short mode)' : ''}; server log: ${r.log.path}`);
  for (const [k, v] of Object.entries(r.routes).sort((a, b) => b[1].count - a[1].count)) {
    lines.push(
      `  ${k.padEnd(14)} ${String(v.count).padStart(8)}  ${String(Math.round(v.count / seconds)).padStart(6)} req/s  ` +
        `p50 ${pct(v.latencies, 50).toFixed(1)} ms  p99 ${pct(v.latencies, 99).toFixed(1)} ms`,
    );
  }

  // The raw numbers, per 5 s window.
  const inWindow = (i) => r.samples.filter((s) => s.t >= r.t0 && Math.floor((s.t - r.t0) / WINDOW_MS) === i);
  const rssOf = (i) => mean(inWindow(i).map((s) => s.rss)) / MiB;
  const heapOf = (i) => mean(inWindow(i).map((s) => s.heapUsed)) / MiB;
  // The server's CPU time in the window (ms), from its cumulative samples around the window's bounds.
  const cpuOf = (i) => {
    const before = r.samples.findLast((s) => s.t <= r.t0 + i * WINDOW_MS);
    const end = r.samples.findLast((s) => s.t <= r.t0 + (i + 1) * WINDOW_MS);
    return before && end && end.t > before.t ? ((end.cpuMs - before.cpuMs) * WINDOW_MS) / (end.t - before.t) : NaN;
  };
  const hook = Boolean(r.drain);
  lines.push(
    `  per ${WINDOW_MS / 1000} s:    t  answers  5xx  logouts  errors  RSS MiB  heap MiB  server CPU %  load` +
      (hook ? '  streamed  delivered  backlog  max delay s' : ''),
  );
  let ended = 0;
  let delivered = 0;
  r.windows.forEach((w, i) => {
    ended += w.logouts;
    delivered += w.delivered;
    const cells = [
      String(i * (WINDOW_MS / 1000)).padStart(5),
      String(w.answers).padStart(8),
      String(w.fiveXX).padStart(4),
      String(w.logouts).padStart(8),
      String(w.errorLines).padStart(7),
      (Number.isNaN(rssOf(i)) ? '' : rssOf(i).toFixed(1)).padStart(8),
      (Number.isNaN(heapOf(i)) ? '' : heapOf(i).toFixed(1)).padStart(9),
      (Number.isNaN(cpuOf(i)) ? '' : ((100 * cpuOf(i)) / WINDOW_MS).toFixed(0)).padStart(13),
      w.load.toFixed(1).padStart(5),
    ];
    if (hook) cells.push(String(w.streamed).padStart(9), String(w.delivered).padStart(10), String(ended - delivered).padStart(8), (w.delayMax / 1000).toFixed(1).padStart(12));
    lines.push(`           ${cells.join(' ')}`);
  });

  const wrongTotal = Object.values(r.wrong).reduce((a, b) => a + b, 0);
  lines.push(`  logins during the load: ${r.logins} (200: ${r.logins200}); logouts answered 200: ${r.logouts200}`);
  lines.push(`  5xx: ${r.fiveXX}`);
  if (r.fiveXX) failures.push(`${r.fiveXX} 5xx`);
  lines.push(`  WRONG answers: ${wrongTotal}${wrongTotal ? `  ${JSON.stringify(r.wrong)}` : ''}`);
  for (const e of r.examples) lines.push(`    e.g. ${e}`);
  if (wrongTotal) failures.push(`${wrongTotal} wrong answers`);
  lines.push(`  LOST (no answer): ${r.lost}; autocannon errors ${r.result.errors}, timeouts ${r.result.timeouts}, resets ${r.result.resets}`);
  if (r.lost || r.result.errors || r.result.timeouts) failures.push('requests without answer');
  if (r.poolOut) failures.push(`seeded sessions ran out ${r.poolOut} times (raise SOAK_SESSIONS_PER_SECOND)`);

  lines.push(`  server log: ${r.log.errors} error lines (level >= 50), ${r.log.warnings} warnings, ${r.log.unparsed} lines not JSON`);
  for (const level of [50, 40]) {
    for (const [what, n] of Object.entries(r.log.byMessage[level]).sort((a, b) => b[1] - a[1]).slice(0, 5)) {
      lines.push(`    ${level === 50 ? 'error' : 'warning'}: ${n} × ${what}`);
    }
  }
  for (const e of r.log.examples) lines.push(`    e.g. ${e}`);
  if (r.log.errors) failures.push(`${r.log.errors} error lines in the server log`);

  const q = quarters(r);
  if (q.all.length < 2) failures.push(`too short to judge: ${q.all.length} whole windows after the ${WARMUP_SECONDS} s warm-up`);
  const span = (idx) => `${idx[0] * 5}-${(idx.at(-1) + 1) * 5} s`;
  const rssEarly = mean(q.first.map(rssOf));
  const rssLate = mean(q.last.map(rssOf));
  const rssFlat = rssLate <= rssEarly * RSS_MAX_RATIO;
  lines.push(
    `  RSS: first quarter after the ${WARMUP_SECONDS} s warm-up (${span(q.first)}) ${rssEarly.toFixed(1)} MiB, last quarter (${span(q.last)}) ` +
      `${rssLate.toFixed(1)} MiB: × ${(rssLate / rssEarly).toFixed(2)} (at most ${RSS_MAX_RATIO}) ${rssFlat ? 'flat' : 'NOT FLAT'}`,
  );
  if (!rssFlat) failures.push('RSS not flat');
  // Medians: one window slowed by the rest of a shared machine does not decide.
  const rateEarly = pct(q.first.map((i) => r.windows[i]?.answers ?? 0), 50);
  const rateLate = pct(q.last.map((i) => r.windows[i]?.answers ?? 0), 50);
  const steady = rateLate >= rateEarly * THROUGHPUT_MIN_RATIO;
  lines.push(
    `  throughput: answers per 5 s (median), first quarter ${Math.round(rateEarly)}, last quarter ${Math.round(rateLate)}: × ${(rateLate / rateEarly).toFixed(2)} ` +
      `(at least ${THROUGHPUT_MIN_RATIO}) ${steady ? 'steady' : 'NOT STEADY'}`,
  );
  if (!steady) failures.push('throughput not steady');
  // Not asserted, to read the above by: what the server did with the CPU it got, and how busy the machine was.
  const perCpu = (idx) => idx.reduce((n, i) => n + (r.windows[i]?.answers ?? 0), 0) / (idx.reduce((n, i) => n + cpuOf(i), 0) / 1000);
  const load = (idx) => mean(idx.map((i) => r.windows[i]?.load ?? NaN));
  lines.push(
    `    answers per second of server CPU: first quarter ${Math.round(perCpu(q.first))}, last ${Math.round(perCpu(q.last))} ` +
      `(× ${(perCpu(q.last) / perCpu(q.first)).toFixed(2)}); machine load average: first quarter ${load(q.first).toFixed(1)}, last ${load(q.last).toFixed(1)}`,
  );

  lines.push(
    `  database: ${r.db.endedByLogout} sessions ended by logout, ${r.db.auditLogout} logout and ${r.db.auditLogin} login audit rows, ${r.db.events} session.ended events: ` +
      (r.dbProblems.length ? `MISMATCH: ${r.dbProblems.join('; ')}` : 'consistent with the clients'),
  );
  if (r.dbProblems.length) failures.push('database counts');

  if (r.drain) {
    const d = r.drain;
    lines.push(
      `  webhook at the load's end: ${d.atStop.ended} ended, ${d.atStop.delivered} delivered, backlog ${d.atStop.ended - d.atStop.delivered}` +
        `, lag ${d.lagAtStop.toFixed(1)} s (the oldest event not delivered yet)`,
    );
    lines.push(
      `  webhook ${DRAIN_SECONDS} s later at most: ${d.ended} ended, ${d.delivered} delivered (${d.duplicates} duplicates), ` +
        (d.drainedAfter !== undefined ? `drained ${d.drainedAfter.toFixed(1)} s after the load stopped` : `NOT DRAINED: backlog ${d.ended - d.delivered}`),
    );
    lines.push(`  delivery delay (event → receiver): p50 ${(pct(d.delaysMs, 50) / 1000).toFixed(1)} s, p99 ${(pct(d.delaysMs, 99) / 1000).toFixed(1)} s, max ${(pct(d.delaysMs, 100) / 1000).toFixed(1)} s`);
    if (d.drainedAfter === undefined && d.delivered < d.ended) failures.push(`webhook backlog not drained ${DRAIN_SECONDS} s after the load (${d.ended - d.delivered} left)`);
    lines.push(`  stream: ${d.streamed} session.ended received (${d.reconnects} reconnects); logouts answered 200 not on the stream: ${d.streamMissing}`);
    if (d.streamMissing) failures.push(`${d.streamMissing} logouts never on the stream`);
  }
  const verdict = `soak ${r.name}: ${failures.length ? `FAIL (${failures.join(', ')})` : 'PASS'}`;
  lines.push(`  => ${verdict}`);
  const text = lines.join('\n');
  console.log(text);
  return { text, verdict, failed: failures.length > 0 };
}

const where = EMBEDDED ? 'the embedded database (PGlite, memory://)' : DATABASE_URL ? `${new URL(DATABASE_URL).host}${new URL(DATABASE_URL).pathname}, as is` : `a fresh database per run on ${new URL(ADMIN_URL).host}`;
console.log(
  `soak${SHORT ? ' (short)' : ''}: ${RUNS.join(' then ')}, ${SECONDS} s each on ${where}; ${CONNECTIONS} connections, ${LONG_LIVED} long-lived sessions, ` +
    `~${LOGINS_PER_SECOND} login/s; warm-up ${WARMUP_SECONDS} s; RSS late ≤ early × ${RSS_MAX_RATIO}; answers per 5 s late ≥ early × ${THROUGHPUT_MIN_RATIO}; ` +
    `webhook drained within ${DRAIN_SECONDS} s`,
);
const reports = [];
for (const name of RUNS) {
  if (EMBEDDED || DATABASE_URL) {
    reports.push(report(await soak(name, DATABASE_URL)));
    continue;
  }
  await withFreshDatabase(ADMIN_URL, `auth_soak_${name}`, async (url, database) => {
    console.log(`\n${name}: fresh database ${database}, ${SECONDS} s…`);
    reports.push(report(await soak(name, url)));
  });
}
console.log(`\n${reports.map((r) => r.verdict).join('; ')}`);
process.exitCode = reports.some((r) => r.failed) ? 1 : 0;
