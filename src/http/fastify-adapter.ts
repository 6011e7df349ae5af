import { HttpException, HttpStatus } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../errors/all-exceptions.filter.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { Env } from '../config/env.validation.js';
import { trustProxyOf } from '../config/app.config.js';
import { answerClientError } from './client-errors.js';
import { answerPlainOptions } from './cors.js';
import { requestIdOf } from './request-id.js';
import { answerRouterError } from './router-errors.js';
import { refuseUnreadableUrls } from './url-text.js';

export const BODY_LIMIT = 16 * 1024;

/**
 * How long a client may take: to send a whole request (headers and body, which is 16 KiB at
 * most), and to stay silent on a connection mid-request. Without them, a request whose body never
 * arrives holds its connection, and a file descriptor, for ever.
 */
const REQUEST_TIMEOUT_MS = 10_000;
const CONNECTION_TIMEOUT_MS = 30_000;

/** A 4xx that Fastify raised before any handler ran (a body too large, a bad Content-Length), in the API's codes. */
export function frameworkError(status: number): AppException {
  switch (status) {
    case HttpStatus.NOT_FOUND:
    case HttpStatus.METHOD_NOT_ALLOWED:
      return new AppException(ErrorCode.NotFound);
    case HttpStatus.PAYLOAD_TOO_LARGE:
      return new AppException(ErrorCode.PayloadTooLarge);
    case HttpStatus.REQUEST_TIMEOUT:
      return new AppException(ErrorCode.RequestTimeout);
    case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
      return new AppException(ErrorCode.InvalidRequest, { errors: ['El cuerpo debe enviarse como application/json'] });
    default:
      return new AppException(ErrorCode.InvalidRequest, { errors: ['La solicitud está mal formada'] });
  }
}

/**
 * Nest's adapter turns Fastify's errors, and the router's 404, into HttpExceptions carrying
 * framework wording ("Cannot GET /x"). Here they become the API's own codes instead, so that every
 * HttpException the exception filter sees is an application's, whose status and message it keeps.
 */
class ApiFastifyAdapter extends FastifyAdapter {
  override mapException(error: unknown): unknown {
    const status = (error as { statusCode?: unknown } | null)?.statusCode;
    if (error instanceof Error && !(error instanceof HttpException) && typeof status === 'number' && status >= 400 && status < 500) {
      return frameworkError(status);
    }
    return super.mapException(error);
  }

  override setNotFoundHandler(): ReturnType<FastifyAdapter['setNotFoundHandler']> {
    return super.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
      sendError(reply, request.id, { code: ErrorCode.NotFound }),
    );
  }
}

/**
 * The adapter of every app this server runs (the API and the operator API): with it come the
 * checks every route needs before anything of its own runs (url-text.ts, cors.ts).
 */
export function fastifyAdapter(env: Pick<Env, 'TRUST_PROXY'>): FastifyAdapter {
  const adapter = new ApiFastifyAdapter({
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
    frameworkErrors: answerRouterError,
  });
  const fastify = adapter.getInstance() as unknown as FastifyInstance;
  answerPlainOptions(fastify);
  refuseUnreadableUrls(fastify);
  return adapter;
}
