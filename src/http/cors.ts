import fastifyCors from '@fastify/cors';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { sendError } from '../errors/all-exceptions.filter.js';
import { ErrorCode } from '../errors/error-code.js';
import { SECURITY_HEADERS } from './response-headers.js';

/** Browser apps on these origins may call the API with credentials; none: no CORS headers at all. */
export async function allowOrigins(app: NestFastifyApplication, origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  await app.register(fastifyCors, {
    origin: origins,
    credentials: true,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
}

/**
 * No route of the API serves OPTIONS: an OPTIONS request that is not a CORS preflight (`Origin`
 * and `Access-Control-Request-Method`) gets the 404 any other method a route lacks gets, in the
 * envelope. @fastify/cors would answer it a plain-text 400 when CORS_ORIGINS is set; this hook
 * runs before its own. Preflights go on to @fastify/cors, or, without CORS_ORIGINS, to the 404.
 */
export function answerPlainOptions(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const { headers } = request;
    if (request.method !== 'OPTIONS' || (headers.origin && headers['access-control-request-method'])) return done();
    reply.headers(SECURITY_HEADERS);
    sendError(reply, request.id, { code: ErrorCode.NotFound });
  });
}
