import { type BeforeApplicationShutdown, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/** Once shutting down: /health/ready answers 503 and every response closes its connection. */
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

  // Requests already in flight would keep their keep-alive connection, and the close, open.
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
