import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppParts } from './app.module.js';
import { corsOriginsOf } from './config/app.config.js';
import type { Env } from './config/env.validation.js';
import { enableCookies } from './http/cookies.js';
import { allowOrigins } from './http/cors.js';
import { fastifyAdapter } from './http/fastify-adapter.js';
import { parseJsonBodies } from './http/json-body.js';
import { addResponseHeaders } from './http/response-headers.js';
import { serveSwagger } from './http/swagger.js';

export type { AppParts };

// Orchestrators expect the probes at the root.
const PROBES = ['health', 'health/live', 'health/ready', '.well-known/jwks.json'];

export function prefixRoutes(app: INestApplication): void {
  app.setGlobalPrefix('api/v1', { exclude: PROBES });
}

/** Not listening yet: main.ts listens, the tests and the bench use it as it is. */
export async function createApp(env: Env, parts: AppParts = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env, parts), fastifyAdapter(env), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  prefixRoutes(app);
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  parseJsonBodies(fastify);
  addResponseHeaders(fastify);
  await enableCookies(app, env.REFRESH_TOKEN_COOKIE);
  await allowOrigins(app, corsOriginsOf(env));
  serveSwagger(app);
  return app;
}
