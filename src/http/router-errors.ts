import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../errors/all-exceptions.filter.js';
import { ErrorCode } from '../errors/error-code.js';
import { SECURITY_HEADERS } from './response-headers.js';

/**
 * Fastify's `frameworkErrors`: errors the router raises (an undecodable URL, a path parameter
 * too long) reach neither the hooks nor Nest's error handler, which lives in the prefixed scope;
 * they get the envelope here.
 */
export function answerRouterError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
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
}
