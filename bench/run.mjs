// npm run bench: requests per second of the authenticated hot path (GET /api/v1/auth/me: JWT
// verification + session lookup) against baselines measured in the same run, interleaved, so
// that a noisy machine shifts all of them alike. Reports medians and ratios, not absolutes.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

const PORT = Number(process.env.BENCH_PORT ?? 3999);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const base = `http://127.0.0.1:${PORT}`;

const server = spawn(process.execPath, ['dist/src/main.js'], {
  env: {
    ...process.env,
    PORT: String(PORT),
    LOG_LEVEL: 'warn',
    PGLITE_DATA_DIR: process.env.DATABASE_URL ? './.data/unused' : 'memory://',
    JWT_SECRET: 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const stop = () => server.kill('SIGTERM');
process.on('exit', stop);

async function waitUp() {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {}
    await sleep(200);
  }
  throw new Error('server did not start');
}

const post = (path, body, headers = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

await waitUp();
const credentials = { email: `bench-${Date.now()}@example.com`, password: 'bench-password' };
await post('/api/v1/auth/register', credentials);
const { data } = await (await post('/api/v1/auth/login', credentials)).json();
const auth = { authorization: `Bearer ${data.accessToken}` };

const targets = {
  'GET /api/v1/auth/me (guard + session lookup)': { url: `${base}/api/v1/auth/me`, headers: auth, expect: 200 },
  'GET /health (one database ping)': { url: `${base}/health`, expect: 200 },
  'GET /nope (404: framework, filter, no database)': { url: `${base}/nope`, expect: 404 },
};

const results = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, t] of Object.entries(targets)) {
    const r = await autocannon({ url: t.url, headers: t.headers, connections: CONNECTIONS, duration: DURATION });
    // A fast wrong answer is no result: every response must be the expected status.
    const unexpected = t.expect === 200 ? r.non2xx : r['2xx'];
    if (r.errors > 0 || unexpected > 0) throw new Error(`${name}: ${r.errors} errors, ${unexpected} unexpected statuses`);
    results[name].push(r.requests.average);
    console.log(`round ${round}  ${name}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms`);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const medians = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
const [me, health, notFound] = Object.values(medians);
console.log(`\nmedians over ${ROUNDS} interleaved rounds of ${DURATION}s, ${CONNECTIONS} connections:`);
for (const [k, v] of Object.entries(medians)) console.log(`  ${Math.round(v).toString().padStart(7)} req/s  ${k}`);
console.log(`  me / health:  ${(me / health).toFixed(2)}`);
console.log(`  me / 404:     ${(me / notFound).toFixed(2)}`);
stop();
