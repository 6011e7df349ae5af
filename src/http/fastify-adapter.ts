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

// Without them, a request whose body never arrives holds its connection, and a file descriptor, for ever.
const REQUEST_TIMEOUT_MS = 10_000;
const CONNECTION_TIMEOUT_MS = 30_000;

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

// Fastify's errors become the API's codes, not framework words ("Cannot GET /x"): every HttpException left is an application's.
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

// The API and the operator API share it, so every route gets these checks before anything of its own.
export function fastifyAdapter(env: Pick<Env, 'TRUST_PROXY'>): FastifyAdapter {
  const adapter = new ApiFastifyAdapter({
    bodyLimit: BODY_LIMIT,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    // Node checks the timeouts every 30 s by default: a stalled request would live 40 s.
    http: { connectionsCheckingInterval: 1000, headersTimeout: REQUEST_TIMEOUT_MS },
    // Fastify's closing 503 is no envelope; open connections are answered, with Connection: close.
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
