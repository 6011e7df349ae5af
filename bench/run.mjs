// npm run bench: what strict revocation costs. On PostgreSQL (BENCH_DATABASE_URL, default the
// machine's, in a fresh database) and on the embedded database, in one run, in interleaved rounds
// (a noisy machine shifts every target alike), it measures:
//   GET /me on the real app (JWT + session lookup), and on a stateless baseline (the same app,
//   built through Nest's testing module, its session lookup a no-op: see bench/server.mjs);
//   POST /logout (a distinct live session per request); POST /login; and a 404 (the framework floor);
// then once more on PostgreSQL with 1,000,000 rows in `sessions`. It prints medians of req/s, p50
// and p99, and the ratios. Ratios within one run are the figures to compare, not absolutes.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { API, serverEnv, startServer, tokenFor, withFreshDatabase } from './common.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BASE_ROWS = 20_000;
const BIG_ROWS = Number(process.env.BENCH_BIG_ROWS ?? 1_000_000);
const DATABASES = (process.env.BENCH_DATABASES ?? 'postgres,embedded').split(',');
// A |-separated subset of the targets below (by name), to compare two builds quickly.
const TARGETS = process.env.BENCH_TARGETS?.split('|');

/** `count` live sessions of the user, straight into the table; their tokens. */
async function seedSessions(server, userId, count) {
  const rows = await server.sql(
    `INSERT INTO sessions (user_id, expires_at) SELECT $1, now() + interval '1 hour' FROM generate_series(1, $2) RETURNING id`,
    [userId, count],
  );
  return rows.map(({ id }) => tokenFor(userId, id));
}

/** Rows that are not live (revoked long ago), in batches, until `sessions` holds `total`. */
async function fillSessions(server, userId, total) {
  const [{ n }] = await server.sql('SELECT count(*)::int AS n FROM sessions');
  for (let missing = total - n; missing > 0; missing -= 100_000) {
    await server.sql(
      `INSERT INTO sessions (user_id, expires_at, revoked_at, created_at)
       SELECT $1, now() + interval '1 hour', now(), now() FROM generate_series(1, $2)`,
      [userId, Math.min(missing, 100_000)],
    );
  }
  await server.sql('ANALYZE sessions');
}

async function run(name, options) {
  const r = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  return r;
}

/** One database: both servers up, a user, BASE_ROWS sessions, rounds; then (PostgreSQL) BIG_ROWS. */
async function benchDatabase(database) {
  const env = serverEnv(database, LOG_LEVEL);
  const real = await startServer('real', 3991, env);
  const post = (path, body, headers = {}) =>
    fetch(`${real.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const credentials = { email: `bench-${randomUUID()}@example.com`, password: 'bench-password' };
  const { data: user } = await (await post(`${API}/register`, credentials)).json();
  const { data: session } = await (await post(`${API}/login`, credentials)).json();
  const stateless = await startServer('stateless', 3992, { ...env, BENCH_USER_ID: user.id, BENCH_EMAIL: credentials.email });
  await fillSessions(real, user.id, BASE_ROWS);

  const meHeaders = { authorization: `Bearer ${session.accessToken}` };
  const statelessHeaders = { authorization: `Bearer ${tokenFor(user.id, randomUUID())}` };
  const targets = {
    'GET /me': () => ({ url: `${real.url}${API}/me`, headers: meHeaders, expect: 200 }),
    'GET /me, stateless baseline': () => ({ url: `${stateless.url}${API}/me`, headers: statelessHeaders, expect: 200 }),
    '404 floor': () => ({ url: `${real.url}/nope`, expect: 404 }),
    'POST /logout': async () => {
      const tokens = await seedSessions(real, user.id, 30_000);
      let next = 0;
      return {
        url: `${real.url}${API}/logout`,
        method: 'POST',
        expect: 200,
        requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[next++]}` } }) }],
      };
    },
    // scrypt-bound: a few connections are enough to keep both cores busy, and a backlog of
    // hashes left running would slow whatever target comes next (see `settle`).
    'POST /login': () => ({
      connections: 4,
      settle: 2000,
      url: `${real.url}${API}/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
      expect: 200,
    }),
  };

  const measure = async (label, only) => {
    const results = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [target, make] of Object.entries(targets)) {
        if ((only && !only.includes(target)) || (TARGETS && !TARGETS.includes(target))) continue;
        const { expect, settle = 0, ...options } = await make();
        const r = await run(target, options);
        await sleep(settle);
        const wrong = expect === 200 ? r.non2xx : r.requests.total - r.non2xx;
        if (r.errors > 0 || wrong > 0) throw new Error(`${label} ${target}: ${r.errors} errors, ${wrong} unexpected statuses`);
        (results[target] ??= []).push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 });
        console.log(`  ${label} round ${round}  ${target}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
      }
    }
    return report(`${database.name}, ${label}`, results);
  };

  const summaries = [await measure(`${BASE_ROWS.toLocaleString('en')} rows`)];
  if (database.url && BIG_ROWS > BASE_ROWS) {
    console.log(`  filling sessions to ${BIG_ROWS.toLocaleString('en')} rows…`);
    await fillSessions(real, user.id, BIG_ROWS);
    summaries.push(await measure(`${BIG_ROWS.toLocaleString('en')} rows`, ['GET /me', 'GET /me, stateless baseline', '404 floor', 'POST /logout']));
  }
  await Promise.all([real.stop(), stateless.stop()]);
  return summaries;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function report(title, results) {
  const m = Object.fromEntries(
    Object.entries(results).map(([k, runs]) => [
      k,
      { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)) },
    ]),
  );
  const lines = [`\n${title}: medians over ${ROUNDS} interleaved rounds of ${DURATION}s, ${CONNECTIONS} connections, LOG_LEVEL=${LOG_LEVEL}`];
  for (const [k, v] of Object.entries(m)) {
    lines.push(`  ${String(Math.round(v.rps)).padStart(7)} req/s  p50 ${String(v.p50).padStart(4)} ms  p99 ${String(v.p99).padStart(4)} ms  ${k}`);
  }
  const ratio = (a, b) => (m[a] && m[b] ? (m[a].rps / m[b].rps).toFixed(2) : 'n/a');
  lines.push(`  /me ÷ stateless:  ${ratio('GET /me', 'GET /me, stateless baseline')}`);
  lines.push(`  /me ÷ 404:        ${ratio('GET /me', '404 floor')}`);
  lines.push(`  logout ÷ 404:     ${ratio('POST /logout', '404 floor')}`);
  const text = lines.join('\n');
  console.log(text);
  return text;
}

const summaries = [];
for (const kind of DATABASES) {
  if (kind === 'postgres') {
    await withFreshDatabase(ADMIN_URL, 'auth_bench', async (url, database) => {
      console.log(`PostgreSQL (${new URL(url).host}, fresh database ${database})`);
      summaries.push(...(await benchDatabase({ name: 'PostgreSQL', url })));
      await sleep(500);
    });
  } else {
    console.log('embedded database (PGlite, in memory)');
    summaries.push(...(await benchDatabase({ name: 'embedded' })));
  }
}
console.log(`\n=== summary${summaries.join('\n')}`);
