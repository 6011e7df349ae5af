import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../errors/all-exceptions.filter.js';
import { ErrorCode } from '../errors/error-code.js';
import { SECURITY_HEADERS } from './response-headers.js';

// The router's errors reach neither the hooks nor Nest's handler (in the prefixed scope).
export function answerRouterError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(SECURITY_HEADERS);
  sendError(
    reply,
    request.id,
    // A parameter over Fastify's 100 characters is longer than any id: the 404 of an unknown id.
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? { code: ErrorCode.NotFound }
      : err.statusCode && err.statusCode < 500
        ? { code: ErrorCode.InvalidRequest, errors: ['La URL no es válida'] }
        : { code: ErrorCode.Internal },
  );
}
