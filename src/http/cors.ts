import fastifyCors from '@fastify/cors';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { sendError } from '../errors/all-exceptions.filter.js';
import { ErrorCode } from '../errors/error-code.js';
import { SECURITY_HEADERS } from './response-headers.js';

export async function allowOrigins(app: NestFastifyApplication, origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  await app.register(fastifyCors, {
    origin: origins,
    credentials: true,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    // WWW-Authenticate: a web client on another origin reads the step-up challenge's max_age (RFC 9470).
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  });
}

// @fastify/cors would answer a plain OPTIONS (not a preflight) a plain-text 400: it gets the envelope's 404.
export function answerPlainOptions(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const { headers } = request;
    if (request.method !== 'OPTIONS' || (headers.origin && headers['access-control-request-method'])) return done();
    reply.headers(SECURITY_HEADERS);
    sendError(reply, request.id, { code: ErrorCode.NotFound });
  });
}
