import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';

/**
 * Whether the app has begun to shut down: from then on it is not ready (GET /health/ready answers
 * 503, so a load balancer stops sending it traffic) and every response closes its connection
 * (app.setup.ts). Set by Nest before the HTTP server closes, and by Fastify's preClose in case
 * Fastify is closed on its own.
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private closing = false;

  get shuttingDown(): boolean {
    return this.closing;
  }

  begin(): void {
    this.closing = true;
  }

  beforeApplicationShutdown(): void {
    this.begin();
  }
}
