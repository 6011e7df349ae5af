import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseResponses, rawConnection, requestHead } from '../support/raw-http.js';
import { lacks } from '../support/requirements.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { onPostgres, TEST_DATABASE_URL } from '../support/app.js';
import { API, bearer } from '../support/requests.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { login, register, uniqueEmail } from '../support/users.js';

// A real `node main.js` told to stop while clients hold connections: it must exit
// within 10 s whatever they do, answer what is in flight with an envelope, and close its database.

const EXIT_BOUND_MS = 10_000;

/** GET through a keep-alive agent, leaving its socket open and idle. */
function fetchVia(agent: http.Agent, url: string): Promise<void> {
  return new Promise((resolve, reject) =>
    http.get(url, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
  );
}

/** Resolves when every socket the agent holds has been closed by the server. */
function agentDrained(agent: http.Agent): Promise<void> {
  const sockets = [...Object.values(agent.freeSockets), ...Object.values(agent.sockets)].flat();
  return Promise.all(sockets.map((s) => (s!.destroyed ? undefined : new Promise((r) => s!.once('close', r))))).then(
    () => undefined,
  );
}

describe.each([
  ['the embedded database', false],
  ['PostgreSQL', true],
] as const)('SIGTERM with clients holding connections, on %s', (_name, postgres) => {
  const skip = lacks(postgres ? 'postgres' : 'embedded', `shutdown on ${_name}`);
  let tempDir: string;
  let server: ServerProcess | undefined;
  let port: number;
  const newUser = () => ({ email: uniqueEmail(), password: 'password-123' });

  beforeAll(async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'auth-shutdown-'));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(() => rm(tempDir, { recursive: true, force: true }));

  const start = async () => {
    const database: Record<string, string> = postgres
      ? { DATABASE_URL: TEST_DATABASE_URL! }
      : { PGLITE_DATA_DIR: join(tempDir, 'data') };
    server = await startServerProcess({ ...database, LOG_LEVEL: 'info' });
    port = Number(new URL(server.url).port);
  };

  /** A login whose body is cut in two: `finish()` sends the rest. In flight, for sure, until then. */
  const loginInFlight = async (user: { email: string; password: string }) => {
    const connection = await rawConnection(port);
    const body = JSON.stringify(user);
    connection.write(requestHead('POST', `${API}/login`, Buffer.byteLength(body)) + body.slice(0, 10));
    return { connection, finish: () => connection.write(body.slice(10)) };
  };

  const expectNoErrorLogged = () => {
    expect(server!.output()).not.toContain('Still closing');
    expect(server!.output()).not.toMatch(/"level":(50|60)/);
  };

  it.skipIf(skip)(
    'closes idle keep-alive connections at once, answers what is in flight with Connection: close, and exits 0',
    async () => {
      const user = newUser();
      await start();
      await register(server!, user.email, user.password);
      const session = await login(server!, user.email, user.password);

      const idle = new http.Agent({ keepAlive: true });
      await fetchVia(idle, `${server!.url}/health`);
      expect(Object.values(idle.freeSockets).flat()).toHaveLength(1);
      const busy = await loginInFlight(user);
      // Half of a request's headers: it arrives whole only once closing has begun, on an open
      // connection (Fastify's own answer there was a bare 503 without an envelope).
      const late = await rawConnection(port);
      late.write(`GET ${API}/me HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: late-one\r\n`);
      await sleep(100);

      const signalled = Date.now();
      const exited = server!.kill('SIGTERM');
      await agentDrained(idle);
      expect(Date.now() - signalled).toBeLessThan(2_000);

      late.write(`Authorization: ${bearer(session.token).Authorization}\r\n\r\n`);
      busy.finish();
      await Promise.all([late.closed, busy.connection.closed]);

      const [lateAnswer] = parseResponses(late.received());
      expect(lateAnswer!.status).toBe(200);
      expect(JSON.parse(lateAnswer!.body)).toMatchObject({ success: true, data: { sessionId: session.sessionId } });
      expect(lateAnswer!.headers).toMatchObject({
        connection: 'close',
        'x-request-id': 'late-one',
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      const [loginAnswer] = parseResponses(busy.connection.received());
      expect(loginAnswer!.status).toBe(200);
      expect(loginAnswer!.headers.connection).toBe('close');
      expect(JSON.parse(loginAnswer!.body)).toMatchObject({ success: true, message: 'Inicio de sesión exitoso' });

      await exited;
      expect(Date.now() - signalled).toBeLessThan(EXIT_BOUND_MS);
      expect(server!.exitCode()).toBe(0);
      expect(server!.output()).toContain('SIGTERM: closing');
      expectNoErrorLogged();
      await expect(fetch(`${server!.url}/health`)).rejects.toThrow();
      idle.destroy();
    },
    30_000,
  );

  it.skipIf(skip)(
    'exits within 10 s although a body never arrives, and sends nothing but envelopes meanwhile',
    async () => {
      // Registered before a SIGTERM: on the embedded database, the login after the restart shows
      // that the close left the data directory intact and unlocked.
      const user = newUser();
      await start();
      await register(server!, user.email, user.password);
      await server!.kill('SIGTERM');
      expect(server!.exitCode()).toBe(0);
      await start();
      const session = await login(server!, user.email, user.password);

      // Never sends its body: only the deadline can end this one.
      const stalled = await rawConnection(port);
      stalled.write(`${requestHead('POST', `${API}/login`, 100)}{"email":`);
      const busy = await loginInFlight(user);
      await sleep(100);

      const signalled = Date.now();
      const exited = server!.kill('SIGTERM');
      await sleep(50);
      // A request pipelined behind the one in flight: the first answer closes the connection, so
      // this one is never answered, and an HTTP/1.1 client retries it elsewhere.
      busy.finish();
      busy.connection.write(`GET ${API}/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${bearer(session.token).Authorization}\r\n\r\n`);

      await busy.connection.closed;
      const answers = parseResponses(busy.connection.received());
      expect(answers).toHaveLength(1);
      expect(answers[0]!.status).toBe(200);
      expect(answers[0]!.headers).toMatchObject({ connection: 'close', 'x-content-type-options': 'nosniff' });
      expect(busy.connection.received()).not.toContain('Service Unavailable');

      await exited;
      await stalled.closed;
      expect(stalled.received()).toBe('');
      expect(Date.now() - signalled).toBeLessThan(EXIT_BOUND_MS);
      expectNoErrorLogged();
    },
    120_000,
  );
});

describe('SHUTDOWN_DELAY_SECONDS: not ready but still serving, then closing as usual', () => {
  const database: Record<string, string> = onPostgres ? { DATABASE_URL: TEST_DATABASE_URL! } : { PGLITE_DATA_DIR: 'memory://' };

  it('after SIGTERM: /health/ready 503 and new connections still served for the delay, then exit 0 within the delay and 9 s', async () => {
    const server = await startServerProcess({ ...database, SHUTDOWN_DELAY_SECONDS: '2' });
    try {
      const user = await register(server);
      const signalled = Date.now();
      server.signal('SIGTERM');
      await sleep(300);
      // A new connection (supertest opens one a request), during the delay.
      await server.http().get('/health/ready').expect(503);
      await server.http().get('/health/live').expect(200);
      const { token } = await login(server, user.email, user.password);
      await server.http().get(`${API}/me`).set(bearer(token)).expect(200);
      expect(server.exitCode()).toBeNull();

      const code = await server.exited;
      const took = Date.now() - signalled;
      expect(code).toBe(0);
      expect(took).toBeGreaterThanOrEqual(2_000);
      expect(took).toBeLessThan(2_000 + EXIT_BOUND_MS);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe('SIGTERM while a mail is being sent', () => {
  let tempDir: string;
  let smtp: SmtpSink;
  let database: Record<string, string>;

  beforeAll(async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'auth-shutdown-mail-'));
    smtp = await startSmtpSink();
    database = onPostgres ? { DATABASE_URL: TEST_DATABASE_URL! } : { PGLITE_DATA_DIR: join(tempDir, 'data') };
  });
  // On the run's shared PostgreSQL, mail that earlier specs left pending would go to this sink too
  // and take the mail slots: set aside, so that each case sees its own message alone.
  beforeEach(async () => {
    if (!onPostgres) return;
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`UPDATE outbox SET status = 'dead', last_error = 'set aside by the shutdown spec' WHERE kind = 'mail' AND status IN ('pending', 'unknown')`);
    } finally {
      await client.end();
    }
  });
  afterEach(() => smtp.behave({}));
  afterAll(async () => {
    await smtp?.close();
    await rm(tempDir, { recursive: true, force: true });
  });

  const until = async (check: () => boolean, ms = 10_000) => {
    for (const end = Date.now() + ms; !check(); await sleep(20)) if (Date.now() > end) throw new Error('timed out');
  };
  /** Stops the server with SIGTERM: its exit code and how long it took. */
  const stop = async (server: ServerProcess) => {
    const signalled = Date.now();
    server.signal('SIGTERM');
    const code = await server.exited;
    return { code, took: Date.now() - signalled };
  };

  it('a message whose DATA went out and whose answer has not come: exit 0 in time, and no second copy after the restart', async () => {
    // The answer comes 15 s after the message: past the stop's 3 s of grace and the 9 s deadline.
    smtp.behave({ dataDelayMs: 15_000 });
    const first = await startServerProcess({ ...database, SMTP_URL: smtp.url });
    const user = await register(first);
    await until(() => smtp.dataReceived(user.email) === 1);
    const { code, took } = await stop(first);
    expect(code).toBe(0);
    expect(took).toBeLessThan(EXIT_BOUND_MS);
    expect(first.output()).toContain('Outbox message held');
    expect(first.output()).not.toContain('Still closing');

    const second = await startServerProcess({ ...database, SMTP_URL: smtp.url });
    try {
      await smtp.next(user.email, { subject: 'Verifique su correo electrónico', timeoutMs: 20_000 });
      // Polled each second by the new instance meanwhile: it leaves the held message alone.
      await sleep(3_000);
      expect(smtp.dataReceived(user.email)).toBe(1);
      expect(smtp.mailsTo(user.email)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('a message not handed over yet: exit 0 at once, and it is sent once after the restart', async () => {
    // The server sits on MAIL FROM: the message has not left.
    smtp.behave({ mailFromDelayMs: 60_000 });
    const first = await startServerProcess({ ...database, SMTP_URL: smtp.url });
    const before = smtp.mailFromReceived();
    const user = await register(first);
    await until(() => smtp.mailFromReceived() > before);
    const { code, took } = await stop(first);
    expect(code).toBe(0);
    expect(took).toBeLessThan(EXIT_BOUND_MS);
    expect(first.output()).toContain('will retry');

    smtp.behave({});
    const second = await startServerProcess({ ...database, SMTP_URL: smtp.url });
    try {
      await smtp.next(user.email, { subject: 'Verifique su correo electrónico', timeoutMs: 20_000 });
      await sleep(2_000);
      expect(smtp.mailsTo(user.email)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  }, 60_000);
});
