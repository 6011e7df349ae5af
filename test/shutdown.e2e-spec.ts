import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseResponses, rawConnection, requestHead } from './support/raw-http.js';
import { type ServerProcess, startServerProcess } from './support/server-process.js';
import { API, bearer, login, onPostgres, register, TEST_DATABASE_URL } from './support/test-app.js';

// A real `node main.js` told to stop while clients hold connections (issue 5): it must exit
// within 10 s whatever they do, answer what is in flight with an envelope, and close its database.

const EXIT_BOUND_MS = 10_000;

/** A request on a keep-alive agent: status, headers and parsed body. */
function request(agent: http.Agent, port: number, method: string, path: string, body?: object, headers = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Record<string, unknown> }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
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
  const skip = postgres !== onPostgres;
  let dataDir: string;
  let server: ServerProcess | undefined;
  let port: number;
  let user: { email: string; password: string };

  const env = (): Record<string, string> => (postgres ? { DATABASE_URL: TEST_DATABASE_URL! } : { PGLITE_DATA_DIR: dataDir });

  beforeAll(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), 'auth-shutdown-')), 'data');
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const start = async () => {
    server = await startServerProcess({ ...env(), LOG_LEVEL: 'info' });
    port = Number(new URL(server.url).port);
  };

  it.skipIf(skip)(
    'closes idle keep-alive connections at once, answers the request in flight with Connection: close, and exits 0',
    async () => {
      await start();
      const { email, password } = await register(server!);
      user = { email, password };
      const idle = new http.Agent({ keepAlive: true });
      const busy = new http.Agent({ keepAlive: true });
      await request(idle, port, 'GET', '/health');
      expect(Object.values(idle.freeSockets).flat()).toHaveLength(1);

      // A login spends ~0.2 s hashing: SIGTERM lands while it is in flight.
      const inFlight = request(busy, port, 'POST', `${API}/login`, user);
      await new Promise((r) => setTimeout(r, 50));
      const signalled = Date.now();
      const exited = server!.kill('SIGTERM');

      await agentDrained(idle);
      expect(Date.now() - signalled).toBeLessThan(2_000);

      const answered = await inFlight;
      expect(answered.status).toBe(200);
      expect(answered.body).toMatchObject({ success: true, message: 'Inicio de sesión exitoso' });
      expect(answered.headers.connection).toBe('close');

      await exited;
      expect(Date.now() - signalled).toBeLessThan(EXIT_BOUND_MS);
      expect(server!.exitCode()).toBe(0);
      expect(server!.output()).toContain('SIGTERM: closing');
      expect(server!.output()).not.toMatch(/"level":(50|60)/);
      await expect(fetch(`${server!.url}/health`)).rejects.toThrow();
      idle.destroy();
      busy.destroy();
    },
    30_000,
  );

  it.skipIf(skip)(
    'exits within 10 s although a body never arrives, and sends nothing but envelopes meanwhile',
    async () => {
      await start();
      // The user registered before the previous SIGTERM: on the embedded database, this login
      // shows that the close left the data directory intact and unlocked.
      const session = await login(server!, user.email, user.password);

      // Never sends its body: only the deadline can end this one.
      const stalled = await rawConnection(port);
      stalled.write(`${requestHead('POST', `${API}/login`, 100)}{"email":`);

      // A login in flight, then, once closing has begun, a second request pipelined behind it.
      // The first answer closes the connection, so the second is never answered: an HTTP/1.1
      // client retries it on a new connection, to another instance.
      const busy = await rawConnection(port);
      const loginBody = JSON.stringify(user);
      busy.write(requestHead('POST', `${API}/login`, Buffer.byteLength(loginBody)) + loginBody);
      await new Promise((r) => setTimeout(r, 50));
      const signalled = Date.now();
      const exited = server!.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 50));
      busy.write(`GET ${API}/me HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${bearer(session.token).Authorization}\r\n\r\n`);

      await busy.closed;
      const answers = parseResponses(busy.received());
      expect(answers).toHaveLength(1);
      expect(answers[0]!.status).toBe(200);
      expect(answers[0]!.headers).toMatchObject({ connection: 'close', 'x-content-type-options': 'nosniff' });
      expect(JSON.parse(answers[0]!.body)).toMatchObject({ success: true, message: 'Inicio de sesión exitoso' });
      expect(busy.received()).not.toContain('Service Unavailable');

      await exited;
      expect(await stalled.closed).toBeGreaterThan(0);
      expect(stalled.received()).toBe('');
      expect(Date.now() - signalled).toBeLessThan(EXIT_BOUND_MS);
      expect(server!.output()).not.toContain('Still closing');
      expect(server!.output()).not.toMatch(/"level":(50|60)/);
    },
    30_000,
  );
});
