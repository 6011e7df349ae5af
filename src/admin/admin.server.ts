import type { AddressInfo } from 'node:net';
import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '../config/app.config.js';
import { fastifyAdapter } from '../http/fastify-adapter.js';
import { parseJsonBodies } from '../http/json-body.js';
import { addResponseHeaders } from '../http/response-headers.js';
import { AdminApiModule } from './admin-api.module.js';
import { AdminConfig, adminTokensOf } from './admin.config.js';
import { AdminService } from './admin.service.js';

// Never on the public port. Listens as the app starts, so a taken port stops the start.
@Injectable()
export class AdminServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private app: NestFastifyApplication | null = null;

  constructor(
    private readonly config: AdminConfig,
    private readonly appConfig: AppConfig,
    private readonly service: AdminService,
    private readonly logger: Logger,
  ) {}

  get port(): number | null {
    return (this.app?.getHttpServer().address() as AddressInfo | null)?.port ?? null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.ADMIN_PORT;
    if (port === undefined) return;
    const app = await NestFactory.create<NestFastifyApplication>(
      AdminApiModule.forRoot(this.service, adminTokensOf(this.config)),
      fastifyAdapter(this.appConfig),
      { bodyParser: false, abortOnError: false, logger: false },
    );
    app.useLogger(this.logger);
    const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
    parseJsonBodies(fastify);
    addResponseHeaders(fastify);
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Auth backend: operator API')
        .setDescription('Accounts and sessions for operators, on ADMIN_PORT only, with a token of ADMIN_TOKENS as Bearer.')
        .setVersion('1.0')
        .addBearerAuth()
        .build(),
      { operationIdFactory: (_controller, method) => method },
    );
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
    await app.listen({ port, host: '0.0.0.0' }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`Cannot serve the operator API on ADMIN_PORT ${port}: ${err.code ?? err.message}`);
    });
    this.app = app;
  }

  async onApplicationShutdown(): Promise<void> {
    const app = this.app;
    this.app = null;
    await app?.close();
  }
}
