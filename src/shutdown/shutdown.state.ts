import { type BeforeApplicationShutdown, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/**
 * Whether the app has begun to shut down: from then on it is not ready (GET /health/ready answers
 * 503, so a load balancer stops sending it traffic) and every response closes its connection.
 * Set by Nest before the HTTP server closes, and by Fastify's preClose in case Fastify is closed
 * on its own.
 */
@Injectable()
export class ShutdownState implements OnModuleInit, BeforeApplicationShutdown {
  private closing = false;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  get shuttingDown(): boolean {
    return this.closing;
  }

  begin(): void {
    this.closing = true;
  }

  beforeApplicationShutdown(): void {
    this.begin();
  }

  /**
   * Fastify adds Connection: close to requests that arrive once closing has begun; requests
   * already in flight would otherwise keep their keep-alive connection, and so the close, open
   * for up to Keep-Alive's 72 s.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    fastify.addHook('preClose', (done) => {
      this.begin();
      done();
    });
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (this.closing) reply.header('connection', 'close');
      done(null, payload);
    });
  }
}
