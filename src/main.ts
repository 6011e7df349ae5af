import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.setup.js';
import { loadEnv } from './config/load-env.js';

/** In-flight requests get this long to finish after SIGTERM or SIGINT; then their connections are cut. */
const DRAIN_MS = 7_000;
/** The process is gone by then whatever clients or the database do: inside Docker's default 10 s grace. */
const EXIT_MS = 9_000;

async function main(): Promise<void> {
  const env = loadEnv();
  const app = await createApp(env);
  if (env.jwtSecretGenerated) {
    app.get(Logger).warn('JWT_SECRET is not set: using a random secret, tokens will not survive a restart');
  }
  stopOnSignals(app);
  await app.listen({ port: env.PORT, host: '0.0.0.0' });
}

/**
 * Instead of Nest's enableShutdownHooks, which waits as long as any client holds a connection:
 * stop accepting, let in-flight requests finish (answered with Connection: close, see
 * app.setup.ts), close the pool and the embedded database, and exit within EXIT_MS regardless.
 * A second signal exits at once.
 */
function stopOnSignals(app: NestFastifyApplication): void {
  const logger = app.get(Logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.log(`${signal}: closing`);
    const server = app.getHttpServer();
    setTimeout(() => server.closeAllConnections(), DRAIN_MS).unref();
    setTimeout(() => {
      logger.error(`Still closing after ${EXIT_MS} ms: exiting now`);
      process.exit(1);
    }, EXIT_MS).unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'Closing failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  // Configuration errors are one line naming the variable; anything else was logged by Nest already.
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
