// node bench/webhook-throughput.mjs  (after `npx nest build`)
//
// How fast session ends reach one fast webhook endpoint. For each database (BENCH_DATABASES,
// default postgres,embedded; PostgreSQL in a fresh database on BENCH_DATABASE_URL's server, default
// the machine's; embedded: PGlite in memory), the real server (bench/server.mjs) runs with one
// endpoint: a receiver in this process that answers 204 at once. WEBHOOK_BENCH_EVENTS (20000)
// sessions are seeded by SQL for WEBHOOK_BENCH_EVENTS / 1000 users, then ended by one
// `logout scope=all` a user, 4 at a time: the events are produced in a few seconds. Measured: the
// time from the first logout to the last event delivered, the deliveries per second over that
// time and per second of the run (steadiness), and the duplicates (at least once: expected 0 here).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { API, serverEnv, startServer, tokenFor, withFreshDatabase } from './common.mjs';

const EVENTS = Number(process.env.WEBHOOK_BENCH_EVENTS ?? 20_000);
const PER_USER = 1000;
const DATABASES = (process.env.BENCH_DATABASES ?? 'postgres,embedded').split(',');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PORT = Number(process.env.BENCH_PORT ?? 3995);
const TIMEOUT_MS = 300_000;

/** The endpoint: answers 204 at once, counts each webhook-id and the second it arrived in. */
async function startReceiver() {
  const seen = new Map();
  const perSecond = new Map();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const second = Math.floor(Date.now() / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    seen,
    perSecond,
    close: () => (server.closeAllConnections(), new Promise((resolve) => server.close(resolve))),
  };
}

async function benchDatabase(name, database) {
  const receiver = await startReceiver();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const env = { ...serverEnv(database, 'warn'), WEBHOOK_ENDPOINTS: `${receiver.url}|${secret}` };
  const server = await startServer('real', PORT, env);
  try {
    const post = (path, body, headers = {}) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const users = [];
    for (let left = EVENTS; left > 0; left -= PER_USER) {
      const { data } = await (await post(`${API}/register`, { email: `hooks-${randomUUID()}@example.com`, password: 'bench-password' })).json();
      const rows = await server.sql(
        `INSERT INTO sessions (user_id, expires_at) SELECT $1, now() + interval '1 hour' FROM generate_series(1, $2) RETURNING id`,
        [data.id, Math.min(left, PER_USER)],
      );
      users.push(tokenFor(data.id, rows[0].id));
    }
    const started = Date.now();
    let produced = 0;
    for (let i = 0; i < users.length; i += 4) {
      await Promise.all(
        users.slice(i, i + 4).map(async (token) => {
          const res = await post(`${API}/logout`, { scope: 'all' }, { authorization: `Bearer ${token}` });
          if (res.status !== 200) throw new Error(`logout answered ${res.status}`);
          produced += (await res.json()).data.revokedSessions;
        }),
      );
    }
    const producedMs = Date.now() - started;
    while (receiver.seen.size < produced) {
      if (Date.now() - started > TIMEOUT_MS) throw new Error(`${name}: ${receiver.seen.size} of ${produced} delivered after ${TIMEOUT_MS} ms`);
      await sleep(10);
    }
    const tookMs = Date.now() - started;
    await sleep(2000);
    const duplicates = [...receiver.seen.values()].reduce((sum, n) => sum + n - 1, 0);
    const seconds = [...receiver.perSecond.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
    // The first and last seconds are partial: the steady rate is read between them.
    const inner = seconds.slice(1, -1);
    return {
      database: name,
      events: produced,
      producedMs,
      deliveredMs: tookMs,
      deliveriesPerSecond: Math.round((produced / tookMs) * 1000),
      perSecond: seconds,
      steadyMin: inner.length ? Math.min(...inner) : null,
      steadyMax: inner.length ? Math.max(...inner) : null,
      duplicates,
    };
  } finally {
    await server.stop();
    await receiver.close();
  }
}

const results = [];
for (const name of DATABASES) {
  if (name === 'postgres') {
    results.push(await withFreshDatabase(ADMIN_URL, 'webhook_bench', (url) => benchDatabase(name, { url })));
  } else {
    results.push(await benchDatabase(name, {}));
  }
  const r = results.at(-1);
  console.log(
    `${r.database}: ${r.events} events produced in ${r.producedMs} ms, all delivered ${r.deliveredMs} ms after the first logout: ` +
      `${r.deliveriesPerSecond}/s (steady seconds ${r.steadyMin}–${r.steadyMax}/s), ${r.duplicates} duplicates`,
  );
}
console.log(JSON.stringify(results));
process.exit(0);
