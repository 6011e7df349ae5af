import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppOptions } from './app.module.js';
import { corsOriginsOf } from './config/app.config.js';
import type { Env } from './config/env.validation.js';
import { enableCookies } from './http/cookies.js';
import { allowOrigins } from './http/cors.js';
import { fastifyAdapter } from './http/fastify-adapter.js';
import { parseJsonBodies } from './http/json-body.js';
import { addResponseHeaders } from './http/response-headers.js';
import { serveSwagger } from './http/swagger.js';

export type { AppOptions };

/** Every route under /api/v1 but the probes, which orchestrators expect at the root. */
export function prefixRoutes(app: INestApplication): void {
  app.setGlobalPrefix('api/v1', { exclude: ['health', 'health/live', 'health/ready', '.well-known/jwks.json'] });
}

/** The app as it serves: used by main.ts, the tests and the bench alike. Not listening yet. */
export async function createApp(env: Env, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env, options), fastifyAdapter(env), {
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
