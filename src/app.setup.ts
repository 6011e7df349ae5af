import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import fastifyHelmet from '@fastify/helmet';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { sendError } from './common/all-exceptions.filter.js';
import { AppException } from './common/app.exception.js';
import { ERRORS, ErrorCode } from './common/error-code.js';
import type { Env } from './config/env.validation.js';
import { trustProxyOf } from './config/load-env.js';

export const BODY_LIMIT = 16 * 1024;
const SANE_REQUEST_ID = /^[A-Za-z0-9._:+/=-]{1,128}$/;
const DOCS_PATH = 'api/docs';

const HELMET = {
  // Swagger UI's scripts and styles are served from here; its inline styles need 'unsafe-inline'.
  contentSecurityPolicy: {
    directives: {
      defaultSrc: [`'self'`],
      styleSrc: [`'self'`, `'unsafe-inline'`],
      imgSrc: [`'self'`, 'data:'],
      scriptSrc: [`'self'`],
    },
  },
};
const helmetHeaders = helmet(HELMET);

/** The client's X-Request-Id when it is sane, otherwise a new one. Also handed to pino-http. */
function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}

/**
 * Requests Node's HTTP parser rejects (oversized headers, malformed HTTP) never reach Fastify's
 * router or our filter; they still get an envelope, not Fastify's own wording.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify(
    tooLarge
      ? { success: false, message: ERRORS[ErrorCode.PayloadTooLarge].message }
      : { success: false, message: ERRORS[ErrorCode.InvalidRequest].message, errors: ['La solicitud HTTP está mal formada'] },
  );
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      'X-Content-Type-Options: nosniff',
      "Content-Security-Policy: default-src 'none'",
      'X-Frame-Options: SAMEORIGIN',
      'Referrer-Policy: no-referrer',
      `X-Request-Id: ${randomUUID()}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

export function fastifyAdapter(env: Env): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxyOf(env),
    genReqId: requestIdOf,
    requestIdHeader: false,
    clientErrorHandler: answerClientError,
    // Errors the router raises (an undecodable URL) reach neither the hooks nor Nest's error
    // handler, which lives in the prefixed scope; they get the envelope here.
    frameworkErrors: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      helmetHeaders(request.raw, reply.raw, () => undefined);
      sendError(
        reply,
        request.id,
        err.statusCode && err.statusCode < 500
          ? { code: ErrorCode.InvalidRequest, errors: ['La URL no es válida'] }
          : { code: ErrorCode.Internal },
      );
    },
  });
}

/** Everything that must be set on the app instance itself; shared by main.ts and the e2e tests. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix('api/v1', { exclude: ['health'] });

  const fastify = app.getHttpAdapter().getInstance();

  // JSON objects only: Fastify would also parse text/plain. An empty body is no body (logout's is optional).
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const invalid = (detail: string) => new AppException(ErrorCode.InvalidRequest, { errors: [detail] });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(request, body as string, (err, value) => {
      if (err) return done(invalid('El cuerpo no es JSON válido'), undefined);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return done(invalid('El cuerpo debe ser un objeto JSON'), undefined);
      }
      done(null, value);
    });
  });

  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (!request.url.startsWith(`/${DOCS_PATH}`)) reply.header('cache-control', 'no-store');
  });

  await app.register(fastifyHelmet, HELMET);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Auth backend')
      .setDescription(
        'JWT authentication whose logout really ends the session: a logged-out token is refused on ' +
          'every protected route of every instance at once. Every body is an envelope ' +
          '`{ success, message, data?, errors? }`.',
      )
      .setVersion('1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    swaggerOptions: { persistAuthorization: true },
  });
}

export async function createApp(env: Env): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env), fastifyAdapter(env), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  await configureApp(app);
  return app;
}
