import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { ShutdownState } from './shutdown.state.js';

const DRAIN_MS = 7_000;
// Inside Docker's default 10 s grace, whatever clients or the database do.
const EXIT_MS = 9_000;

// Not Nest's enableShutdownHooks, which waits while any client holds a connection; the delay lets load balancers notice.
export function stopOnSignals(app: NestFastifyApplication, delayMs = 0): void {
  const logger = app.get(Logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    if (delayMs <= 0) return close(signal);
    app.get(ShutdownState).begin();
    logger.log(`${signal}: not ready, closing in ${delayMs} ms`);
    setTimeout(() => close(signal), delayMs);
  };
  const close = (signal: NodeJS.Signals) => {
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
