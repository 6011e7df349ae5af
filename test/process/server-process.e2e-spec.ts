import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawConnection, requestHead } from '../support/raw-http.js';
import { runUntilExit, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { onPostgres, TEST_DATABASE_URL } from '../support/app.js';
import { API, bearer, loginRequest, logoutRequest } from '../support/requests.js';
import { login, register, uniqueEmail } from '../support/users.js';
import { INTROSPECT, INTROSPECTION_CLIENT, INTROSPECTION_CLIENTS, introspectRequest } from '../support/introspection.js';

// What only a real `node main.js` shows: its log lines, its health answer, and how it refuses
// to start. On the same database as the rest of the run.
const database: Record<string, string> =
  onPostgres && TEST_DATABASE_URL ? { DATABASE_URL: TEST_DATABASE_URL } : { PGLITE_DATA_DIR: 'memory://' };

describe('the server process', () => {
  const env = { ...database, LOG_LEVEL: 'info', INTROSPECTION_CLIENTS, THROTTLE_INTROSPECTION_FAILURE_LIMIT: '2' };
  let server: ServerProcess;
  // The one a case stops to flush its logs: its own, so the shared one serves the others in any order.
  let stopped: ServerProcess | undefined;
  beforeAll(async () => {
    server = await startServerProcess(env);
  }, 120_000);
  afterAll(() => Promise.all([server?.stop(), stopped?.stop()]));

  it('answers GET /health with 200 and its envelope while the database answers', async () => {
    const res = await server.http().get('/health').expect(200);
    expect(res.body).toMatchObject({ success: true, message: 'Servicio disponible', data: { status: 'ok' } });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('logs a client hanging up mid-body as nothing worse than debug, without a stack', async () => {
    const port = Number(new URL(server.url).port);
    const before = server.output().length;
    for (const route of ['login', 'register', 'logout']) {
      const connection = await rawConnection(port);
      connection.write(`${requestHead('POST', `${API}/${route}`, 200, { 'X-Request-Id': `hang-up-${route}` })}{"email":"a`);
      await new Promise((r) => setTimeout(r, 100));
      connection.destroy();
    }
    await server.http().get('/health').expect(200); // the server goes on
    await new Promise((r) => setTimeout(r, 200));
    const logged = server.output().slice(before);
    // Only these requests' lines: an outbox message another case left in a shared database may warn meanwhile.
    const lines = logged.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
    const hangUps = lines.filter((line) => String(line.req?.id ?? line.requestId ?? '').startsWith('hang-up-'));
    expect(hangUps.map((line) => line.level)).toStrictEqual([30, 30, 30]);
    expect(lines.filter((line) => line.level >= 50)).toStrictEqual([]);
    expect(logged).not.toContain('Unhandled error');
    expect(logged).not.toMatch(/\bat \S+ \(|stack/);
  });

  it('logs a failed client authentication at warn with the client id tried, never its secret; past the limit, once', async () => {
    const before = server.output().length;
    const wrongSecret = 'not-the-billing-secret-0123456789-xyz';
    const attempt = (id: string) => server.http().post(INTROSPECT).auth(id, wrongSecret).type('form').send({ token: 'x' });
    await attempt('billing').set('X-Request-Id', 'client-failure-1').expect(401);
    await attempt('billing').expect(401);
    for (let i = 0; i < 3; i++) await attempt('billing').expect(429);
    await introspectRequest(server, 'x').expect(429);
    await new Promise((r) => setTimeout(r, 200));
    const logged = server.output().slice(before);
    const warnings = logged
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.level === 40);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatchObject({ clientId: 'billing', requestId: 'client-failure-1', msg: 'Client authentication failed' });
    expect(warnings[0].ip).toBeTruthy();
    expect(warnings[2]).toMatchObject({ clientId: 'billing', retryAfter: expect.any(Number) });
    expect(warnings[2].msg).toMatch(/^Client authentication failed too often/);
    expect(logged).not.toContain(wrongSecret);
    expect(logged).not.toContain(INTROSPECTION_CLIENT.secret);
  });

  it('logs JSON lines with the request id, and never a token or a password', async () => {
    const server = (stopped = await startServerProcess(env));
    const password = 'Sup3r-secret-passphrase';
    const user = await register(server, uniqueEmail(), password);
    const session = await login(server, user.email, password);
    const other = await login(server, user.email, password);
    const signature = session.token.split('.')[2]!;

    await server
      .http()
      .get(`${API}/me?access_token=${session.token}&password=${password}`)
      .set(bearer(session.token))
      .set('Cookie', `sid=${session.token}`)
      .set('X-Request-Id', 'log-check-me')
      .expect(200);
    await logoutRequest(server, session.token).send({ token: other.token }).expect(200);
    await loginRequest(server, user.email, 'wrong-password').expect(401);
    await server.stop(); // flushes the logs

    const output = server.output();
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    const me = lines.map((line) => JSON.parse(line)).find((entry) => entry.req?.id === 'log-check-me');
    expect(me).toMatchObject({ req: { method: 'GET', url: `${API}/me` }, res: { statusCode: 200 } });

    for (const secret of [password, 'wrong-password', session.token, other.token, signature]) {
      expect(output).not.toContain(secret);
    }
  }, 120_000);
});

describe('invalid configuration stops the start with one line naming the variable', () => {
  it.each([
    ['JWT_SECRET', { NODE_ENV: 'production', JWT_SECRET: '' }],
    ['JWT_SECRET', { NODE_ENV: 'production', JWT_SECRET: 'too-short' }],
    ['SMTP_URL', { NODE_ENV: 'production', JWT_SECRET: 'r4Nd0m-Qx8vT2kLp9Zw3Yb6Hn1Jm5Cs7Df0Gh', MFA_ENCRYPTION_KEY: 'B'.repeat(43) + '=', REQUIRE_EMAIL_VERIFICATION: 'true' }],
    ['MFA_ENCRYPTION_KEY', { MFA_ENCRYPTION_KEY: 'c2hvcnQ=' }],
    ['PORT', { PORT: 'abc' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/app' }],
    ['INTROSPECTION_CLIENTS', { INTROSPECTION_CLIENTS: 'billing:abc' }],
    ['ADMIN_TOKENS', { ADMIN_PORT: '0', ADMIN_TOKENS: 'too-short-for-an-operator' }],
  ])('%s: %j', async (variable, env) => {
    const { code, output } = await runUntilExit({ ...database, ...env });
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  }, 60_000);
});
