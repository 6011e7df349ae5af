// One server for `npm run bench`, run by bench/run.mjs as a child process (so that the load
// generator does not share its event loop). `real`: the app as main.ts builds it. `stateless`:
// the same app built through Nest's testing module with the session lookup replaced in-process by
// a no-op, to price what strict revocation costs. Seeds sessions on request (IPC), through the
// app's own DataSource, which the bench cannot reach on the embedded database.
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppModule } from '../dist/src/app.module.js';
import { configureApp, fastifyAdapter } from '../dist/src/app.setup.js';
import { loadEnv } from '../dist/src/config/load-env.js';
import { SessionsService } from '../dist/src/sessions/sessions.service.js';

const [mode, port] = process.argv.slice(2);
const env = loadEnv({}, { envFile: '' });

const builder = Test.createTestingModule({ imports: [AppModule.forRoot(env)] });
if (mode === 'stateless') {
  const { BENCH_USER_ID: userId, BENCH_EMAIL: email } = process.env;
  builder.overrideProvider(SessionsService).useValue({
    // What a stateless JWT backend does: believe the token. The claims are checked as usual.
    findActive: async (id) => ({ id, userId, email, expiresAt: new Date(Date.now() + 3_600_000) }),
  });
}
const app = (await builder.compile()).createNestApplication(fastifyAdapter(env), { bodyParser: false, bufferLogs: true });
await configureApp(app);
await app.listen({ port: Number(port), host: '127.0.0.1' });

const dataSource = app.get(DataSource);
process.on('message', async ({ id, sql, params }) => {
  try {
    process.send({ id, rows: await dataSource.query(sql, params) });
  } catch (err) {
    process.send({ id, error: String(err) });
  }
});
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
process.send({ ready: true });
