import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import { ConfigService } from '@nestjs/config';
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
import { hasLoneSurrogate, MAX_JSON_DEPTH, nestsDeeperThan } from './common/json-body.js';
import { corsOriginsOf, type Env } from './config/env.validation.js';
import { trustProxyOf } from './config/load-env.js';
import { ShutdownState } from './health/shutdown.state.js';
import { MetricsService, UNMATCHED_ROUTE } from './metrics/metrics.service.js';

export const BODY_LIMIT = 16 * 1024;

/**
 * How long a client may take: to send a whole request (headers and body, which is 16 KiB at
 * most), and to stay silent on a connection mid-request. Without them, a request whose body never
 * arrives holds its connection, and a file descriptor, for ever.
 */
export const REQUEST_TIMEOUT_MS = 10_000;
export const CONNECTION_TIMEOUT_MS = 30_000;
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

/**
 * helmet's headers depend on its options only, so they are computed once, here, and set by one
 * hook. @fastify/helmet built the whole helmet middleware again on every request: 45% of the CPU
 * of a 404 (see README, Performance).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = (() => {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: () => undefined,
  };
  helmet(HELMET)({} as IncomingMessage, response as never, () => undefined);
  return Object.freeze(headers);
})();

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
type HttpSocket = Duplex & {
  /** The response to the request being read, from its headers until it is sent (Node's own handler reads it too). */
  _httpMessage?: { headersSent: boolean; req?: IncomingMessage & { id?: string } } | null;
  /** The last request whose headers were read. */
  parser?: { incoming?: IncomingMessage | null } | null;
};

function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: HttpSocket): void {
  const current = socket._httpMessage;
  // Answered already, but the body it announced never came (a HEAD with a Content-Length): a
  // second, unsolicited response would be read as garbage, so the connection just closes.
  const answered = current ? current.headersSent : socket.parser?.incoming?.complete === false;
  if (!socket.writable || answered) return void socket.destroy();
  const { status, body } = clientErrorAnswer(err.code);
  const text = JSON.stringify(body);
  // An answer to HEAD has headers only; a body after them would be read as a broken response.
  const head =
    current?.req?.method === 'HEAD' ||
    (Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ');
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(text)}`,
      'Cache-Control: no-store',
      'X-Content-Type-Options: nosniff',
      "Content-Security-Policy: default-src 'none'",
      'X-Frame-Options: SAMEORIGIN',
      'Referrer-Policy: no-referrer',
      `X-Request-Id: ${current?.req?.id ?? randomUUID()}`,
      'Connection: close',
      '',
      head ? '' : text,
    ].join('\r\n'),
  );
}

function clientErrorAnswer(code: string | undefined): { status: number; body: object } {
  const envelope = (errorCode: ErrorCode, errors?: string[]) => ({
    status: ERRORS[errorCode].status,
    body: { success: false, message: ERRORS[errorCode].message, ...(errors && { errors }) },
  });
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { ...envelope(ErrorCode.PayloadTooLarge), status: 431 };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return envelope(ErrorCode.RequestTimeout);
    default:
      return envelope(ErrorCode.InvalidRequest, ['La solicitud HTTP está mal formada']);
  }
}

export function fastifyAdapter(env: Env): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    // Node checks those timeouts every 30 s by default, which would let a stalled request live
    // for 40 s; headers get the same bound as the whole request.
    http: { connectionsCheckingInterval: 1000, headersTimeout: REQUEST_TIMEOUT_MS },
    // While closing, requests on open connections are still answered (with Connection: close),
    // not with Fastify's own 503 body, which is no envelope.
    return503OnClosing: false,
    trustProxy: trustProxyOf(env),
    genReqId: requestIdOf,
    requestIdHeader: false,
    clientErrorHandler: answerClientError,
    // Errors the router raises (an undecodable URL) reach neither the hooks nor Nest's error
    // handler, which lives in the prefixed scope; they get the envelope here.
    frameworkErrors: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      reply.headers(SECURITY_HEADERS);
      sendError(
        reply,
        request.id,
        // A path parameter over Fastify's 100 characters is longer than any id: it names nothing,
        // so it gets the 404 an unknown id gets (DELETE /sessions/:id), not a 400.
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? { code: ErrorCode.NotFound }
          : err.statusCode && err.statusCode < 500
            ? { code: ErrorCode.InvalidRequest, errors: ['La URL no es válida'] }
            : { code: ErrorCode.Internal },
      );
    },
  });
}

/** Everything that must be set on the app instance itself; shared by main.ts and the e2e tests. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix('api/v1', { exclude: ['health', 'health/live', 'health/ready'] });

  const fastify = app.getHttpAdapter().getInstance();

  // JSON objects only: Fastify would also parse text/plain.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const invalid = (detail: string) => new AppException(ErrorCode.InvalidRequest, { errors: [detail] });
  fastify.removeAllContentTypeParsers();
  // An empty body is no body whatever its declared type (`curl -d ''`, `fetch` with body ''):
  // logout's body is optional. Anything else not sent as JSON is a 400.
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    done(invalid('El cuerpo debe enviarse como application/json'), undefined);
  });
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0) return done(null, undefined);
    // Decoding would turn invalid bytes into U+FFFD, so `pass\xffword` and `pass\xfeword` would be one password.
    if (!isUtf8(bytes)) return done(invalid('El cuerpo contiene texto que no es Unicode válido'), undefined);
    const text = bytes.toString('utf8');
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return done(invalid('El cuerpo JSON está demasiado anidado'), undefined);
    parseJson(request, text, (err, value) => {
      if (err) return done(invalid('El cuerpo no es JSON válido'), undefined);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return done(invalid('El cuerpo debe ser un objeto JSON'), undefined);
      }
      if (hasLoneSurrogate(text, value)) return done(invalid('El cuerpo contiene texto que no es Unicode válido'), undefined);
      done(null, value);
    });
  });

  // Callback hooks, not async ones: no promise per request on every route.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    if (!request.url.startsWith(`/${DOCS_PATH}`)) reply.header('cache-control', 'no-store');
    done();
  });

  // Fastify adds Connection: close to requests that arrive once closing has begun; requests
  // already in flight would otherwise keep their keep-alive connection, and so the close, open
  // for up to Keep-Alive's 72 s.
  // The same state makes GET /health/ready answer 503 (health/shutdown.state.ts).
  const shutdown = app.get(ShutdownState);
  fastify.addHook('preClose', async () => {
    shutdown.begin();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (shutdown.shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });

  // Registered only when metrics are on: otherwise no request pays for them. The route label is
  // the pattern (`/api/v1/auth/sessions/:id`), never the URL, so ids never become series.
  const metrics = app.get(MetricsService);
  if (metrics.enabled) {
    fastify.addHook('onResponse', (request, reply, done) => {
      metrics.httpRequest(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  const config = app.get(ConfigService<Env, true>);
  // Cookie mode only (the plugin adds an onSend hook to every route), and without its parsing
  // hook: the refresh route alone reads a cookie (see auth/refresh-cookie.ts).
  if (config.get('REFRESH_TOKEN_COOKIE', { infer: true })) await app.register(fastifyCookie, { hook: false });
  // Browser apps on these origins may call the API with credentials; unset, no CORS headers at all.
  const origins = corsOriginsOf({ CORS_ORIGINS: config.get('CORS_ORIGINS', { infer: true }) });
  if (origins.length > 0) {
    await app.register(fastifyCors, {
      origin: origins,
      credentials: true,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  }

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
