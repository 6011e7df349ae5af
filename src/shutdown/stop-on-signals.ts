import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { ShutdownState } from './shutdown.state.js';

/** In-flight requests get this long to finish after SIGTERM or SIGINT; then their connections are cut. */
const DRAIN_MS = 7_000;
/** The process is gone by then (after the delay) whatever clients or the database do: inside Docker's default 10 s grace. */
const EXIT_MS = 9_000;

/**
 * Instead of Nest's enableShutdownHooks, which waits as long as any client holds a connection:
 * stop accepting, let in-flight requests finish (answered with Connection: close, see
 * shutdown.state.ts), close the pool and the embedded database, and exit within EXIT_MS
 * regardless. A second signal exits at once. With a `delayMs` (SHUTDOWN_DELAY_SECONDS), the
 * instance first answers not ready while still serving for that long, so that a load balancer
 * (or Kubernetes, which removes endpoints after the signal, not before) stops sending it new
 * connections before the listener closes.
 */
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
