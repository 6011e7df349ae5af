// What the benches share: the servers' environment, hand-made tokens, the bench server as a child process.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';

export const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const ISSUER = 'auth-backend';
export const AUDIENCE = 'auth-backend-clients';
export const API = '/api/v1/auth';

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

/** A bench server (bench/server.mjs) as a child process, with SQL through its own database connection. */
export async function startServer(mode, port, env) {
  const child = fork(new URL('./server.mjs', import.meta.url), [mode, String(port)], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let ready;
  const started = new Promise((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  child.on('message', (msg) => {
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
    sql: (sql, params = []) =>
      new Promise((resolve, reject) => {
        const id = randomUUID();
        pending.set(id, { resolve, reject });
        child.send({ id, sql, params });
      }),
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))),
  };
}
