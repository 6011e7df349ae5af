// One server for `npm run bench`, run by bench/run.mjs as a child process (so that the load
// generator does not share its event loop). `real`: the app as main.ts builds it. `stateless`:
// the same app with the session lookup replaced in-process by a no-op, to price what strict
// revocation costs. Seeds sessions on request (IPC), through the app's own database
// connection, which the bench cannot reach on the embedded database; sends its memory and CPU time every second.
import 'reflect-metadata';
import { createApp } from '../dist/src/app.factory.js';
import { loadEnv } from '../dist/src/config/load-env.js';
import { Database } from '../dist/src/database/database.js';
import { SessionsService } from '../dist/src/sessions/sessions.service.js';

const [mode, port] = process.argv.slice(2);
const app = await createApp(loadEnv({}, { envFile: '' }));
if (mode === 'stateless') {
  const { BENCH_USER_ID: userId, BENCH_EMAIL: email } = process.env;
  // What a stateless JWT backend does: believe the token. The claims are checked as usual.
  app.get(SessionsService).findLive = async (id) => ({ id, userId, email, expiresAt: new Date(Date.now() + 3_600_000) });
}
await app.listen({ port: Number(port), host: '127.0.0.1' });

const database = app.get(Database);
process.on('message', async ({ id, sql, params }) => {
  try {
    process.send({ id, rows: await database.query(sql, params) });
  } catch (err) {
    process.send({ id, error: String(err) });
  }
});
setInterval(() => {
  const { rss, heapUsed } = process.memoryUsage();
  const { user, system } = process.cpuUsage();
  process.send({ usage: { t: Date.now(), rss, heapUsed, cpuMs: (user + system) / 1000 } });
}, 1000).unref();
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
process.send({ ready: true });
