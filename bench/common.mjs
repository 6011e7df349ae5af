// What the benches share: the servers' environment, hand-made tokens, the bench server as a child
// process, a listener on its event stream, a fresh PostgreSQL database.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createInterface } from 'node:readline';
import jsonwebtoken from 'jsonwebtoken';
import pg from 'pg';

export const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const ISSUER = 'auth-backend';
export const AUDIENCE = 'auth-backend-clients';
export const API = '/api/v1/auth';
/** The introspection client the benches give the server (INTROSPECTION_CLIENTS), for the event feed and stream. */
export const EVENTS_CLIENT = { id: 'bench', secret: 'bench-events-client-secret-0123456789abcdef' };

/** A server's environment: rate limits out of the way, no Redis, the given database. */
export const serverEnv = (database, logLevel) => ({
  ...process.env,
  NODE_ENV: 'test',
  LOG_LEVEL: logLevel,
  JWT_SECRET: SECRET,
  JWT_ISSUER: ISSUER,
  JWT_AUDIENCE: AUDIENCE,
  THROTTLE_LOGOUT_LIMIT: '1000000',
  THROTTLE_LOGOUT_TTL: '1',
  THROTTLE_LOGIN_LIMIT: '1000000',
  THROTTLE_LOGIN_TTL: '1',
  REDIS_URL: '',
  ...(database.url ? { DATABASE_URL: database.url } : { DATABASE_URL: '', PGLITE_DATA_DIR: 'memory://' }),
});

/** An access token for a session, signed as the servers above expect. */
export const tokenFor = (userId, sessionId) =>
  jsonwebtoken.sign({ sid: sessionId }, SECRET, {
    algorithm: 'HS256',
    subject: userId,
    jwtid: randomUUID(),
    expiresIn: 3600,
    issuer: ISSUER,
    audience: AUDIENCE,
  });

/**
 * A bench server (bench/server.mjs) as a child process, with SQL through its own database
 * connection, and its memory and CPU time every second (`samples`: { t, rss, heapUsed, cpuMs }).
 * With `onLine`, each line it writes (stdout and stderr: pino's JSON lines) goes there instead of
 * this terminal.
 */
export async function startServer(mode, port, env, { onLine } = {}) {
  const stdio = onLine ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc'];
  const child = fork(new URL('./server.mjs', import.meta.url), [mode, String(port)], { env, stdio });
  if (onLine) for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
  const pending = new Map();
  const samples = [];
  let ready;
  const started = new Promise((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  child.on('message', (msg) => {
    if (msg.usage) return void samples.push(msg.usage);
    if (msg.ready) return ready();
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) reject(new Error(msg.error));
    else resolve(msg.rows);
  });
  // A failed run must not leave servers behind on the bench ports.
  process.once('exit', () => child.kill('SIGKILL'));
  await started;
  return {
    url: `http://127.0.0.1:${port}`,
    samples,
    sql: (sql, params = []) =>
      new Promise((resolve, reject) => {
        const id = randomUUID();
        pending.set(id, { resolve, reject });
        child.send({ id, sql, params });
      }),
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))),
  };
}

/**
 * GET /api/v1/events/stream as EVENTS_CLIENT: `onEvent(event, performance.now())` for each
 * `session.ended`. A stream the server ends or cuts (it cuts a listener that reads too slowly) is
 * resumed at once with Last-Event-ID; `reconnects` counts those. Resolves once the stream answered 200.
 */
export function listenToStream(url, onEvent) {
  const authorization = `Basic ${Buffer.from(`${EVENTS_CLIENT.id}:${EVENTS_CLIENT.secret}`).toString('base64')}`;
  const listener = { reconnects: 0, close: () => {} };
  let lastId;
  let closed = false;
  // Unref'd: a listener left behind never holds the process open.
  const resume = () => void connect().catch(() => !closed && setTimeout(resume, 1000).unref());
  const connect = () =>
    new Promise((resolve, reject) => {
      const headers = { authorization, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) };
      const req = http.get(`${url}/api/v1/events/stream`, { headers }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`the stream answered ${res.statusCode}`));
        }
        let buffer = '';
        res.setEncoding('utf8').on('data', (chunk) => {
          const now = performance.now();
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^data: (.*)$/m.exec(message);
            if (!/^event: session\.ended$/m.test(message) || !data) continue;
            const event = JSON.parse(data[1]);
            lastId = event.id;
            onEvent(event, now);
          }
        });
        res.on('close', () => {
          if (closed) return;
          listener.reconnects++;
          resume();
        });
        listener.close = () => {
          closed = true;
          req.destroy();
        };
        resolve(listener);
      });
      req.on('error', reject);
    });
  return connect();
}

/**
 * Runs `use(url)` on a new database of the PostgreSQL server at `adminUrl` (named `prefix` and
 * the time), dropped afterwards whatever happened.
 */
export async function withFreshDatabase(adminUrl, prefix, use) {
  const name = `${prefix}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await use(url.toString(), name);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}
