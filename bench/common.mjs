// What bench/run.mjs and bench/soak.mjs share: the servers' environment and hand-made tokens.
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
