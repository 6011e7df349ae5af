import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from './app.exception.js';
import { ERRORS, ErrorCode, OAUTH_ERRORS, OAUTH_SERVER_ERROR, OTHER_CLIENT_ERROR, STATUS_MESSAGES, TOKEN_ERRORS } from './error-code.js';
import type { Envelope } from '../http/envelope.js';

const STATUS_TO_CODE: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: ErrorCode.InvalidRequest,
  [HttpStatus.UNAUTHORIZED]: ErrorCode.InvalidToken,
  [HttpStatus.FORBIDDEN]: ErrorCode.Forbidden,
  [HttpStatus.NOT_FOUND]: ErrorCode.NotFound,
  [HttpStatus.REQUEST_TIMEOUT]: ErrorCode.RequestTimeout,
  [HttpStatus.PAYLOAD_TOO_LARGE]: ErrorCode.PayloadTooLarge,
  [HttpStatus.TOO_MANY_REQUESTS]: ErrorCode.TooManyRequests,
  [HttpStatus.SERVICE_UNAVAILABLE]: ErrorCode.ServiceUnavailable,
};

/** What Nest says when a guard returns false: its words, not the application's. */
const GUARD_REFUSAL = 'Forbidden resource';

// Only applications throw HttpExceptions (the adapter maps the framework's): keep their status and words, never in a 5xx.
function applicationError(exception: HttpException): ErrorAnswer {
  const status = exception.getStatus();
  const named = STATUS_TO_CODE[status];
  const code = named ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.InvalidRequest);
  const standard = named
    ? ERRORS[named].message
    : (STATUS_MESSAGES[status] ?? (status >= 500 ? ERRORS[ErrorCode.Internal].message : OTHER_CLIENT_ERROR));
  if (status >= 500) return { code, status, message: standard };
  const { message, errors } = ownWords(exception.getResponse());
  return { code, status, message: message && message !== GUARD_REFUSAL ? message : standard, errors };
}

// Nest leaves `error` out of `{ message, error, statusCode }` when no message was given: then `message` is Nest's own.
function ownWords(response: string | object): { message?: string; errors?: string[] } {
  if (typeof response === 'string') return { message: response };
  const { message, error, statusCode } = response as Record<string, unknown>;
  if (Array.isArray(message)) return { errors: message.filter((item): item is string => typeof item === 'string') };
  const wrapped = statusCode !== undefined;
  return typeof message === 'string' && (!wrapped || error !== undefined) ? { message } : {};
}

// A database error's text and TypeORM's query parameters can quote a hash or an email: log only its code and place.
export function loggableError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const cause = (err as { driverError?: unknown }).driverError;
  const db = (cause ?? err) as Record<string, unknown>;
  const { code, constraint, table, routine } = db;
  // The server's errors (with a severity) may quote values; the driver's own ("Connection terminated") do not.
  if ('severity' in db) return { type: err.name, code, constraint, table, routine };
  if (cause instanceof Error) return { type: err.name, code, message: cause.message };
  return { type: err.name, code, message: err.message, stack: err.stack };
}

// Nobody to answer, and no fault of ours: not worth an error log.
function clientWentAway(exception: unknown, request: FastifyRequest | undefined): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  return request?.raw?.destroyed === true && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE');
}

interface ErrorAnswer {
  code: ErrorCode;
  errors?: string[];
  retryAfter?: number;
  maxAge?: number;
  status?: number;
  message?: string;
}

/** `@RouteConfig(OAUTH_ERROR_BODY)`: OAuth clients read `{ error }` (RFC 6749 5.2), not the envelope. */
export const OAUTH_ERROR_BODY = { errorBody: 'oauth' } as const;

const answersInOAuthWords = (reply: FastifyReply) =>
  (reply.request?.routeOptions?.config as { errorBody?: string } | undefined)?.errorBody === OAUTH_ERROR_BODY.errorBody;

const STEP_UP_DESCRIPTION = 'Se requiere autenticacion reciente';

// Shared with the hooks and the router, which answer before the filter can.
export function sendError(reply: FastifyReply, requestId: string | undefined, answer: ErrorAnswer): void {
  const { code, errors, retryAfter, maxAge } = answer;
  const status = answer.status ?? ERRORS[code].status;
  const envelope: Envelope = { success: false, message: answer.message ?? ERRORS[code].message };
  if (errors?.length) envelope.errors = errors;
  const body = answersInOAuthWords(reply) ? { error: OAUTH_ERRORS[code] ?? (status >= 500 ? OAUTH_SERVER_ERROR : 'invalid_request') } : envelope;

  if (TOKEN_ERRORS.has(code)) reply.header('www-authenticate', 'Bearer error="invalid_token"');
  if (code === ErrorCode.InvalidClient) reply.header('www-authenticate', 'Basic realm="auth-backend"');
  // RFC 9470's challenge: the client proves a factor again (POST /auth/step-up) and retries. RFC 6750 keeps error_description ASCII.
  if (code === ErrorCode.StepUpRequired) {
    reply.header('www-authenticate', `Bearer error="insufficient_user_authentication", error_description="${STEP_UP_DESCRIPTION}", max_age=${maxAge ?? 0}`);
  }
  if (retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
  reply.header('cache-control', 'no-store');
  // Routing errors never reach the onRequest hook that sets it.
  if (requestId) reply.header('x-request-id', requestId);
  reply.status(status).type('application/json; charset=utf-8').send(body);
}

// Nothing of the error itself (message, stack, SQL, driver text) reaches the client.
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    if (clientWentAway(exception, request)) {
      this.logger.debug({ requestId: request?.id }, 'The client closed the connection before its request was read');
      return;
    }
    let answer = this.classify(exception);
    // Fastify judges a Content-Type before routing; an unknown route still gets the one 404.
    if (request?.is404 && answer.code === ErrorCode.InvalidRequest) answer = { code: ErrorCode.NotFound };

    if (answer.code === ErrorCode.Internal) {
      this.logger.error({ err: loggableError(exception), requestId: request?.id }, 'Unhandled error');
    }

    sendError(reply, request?.id, answer);
  }

  private classify(exception: unknown): ErrorAnswer {
    if (exception instanceof AppException) {
      return { code: exception.code, ...exception.options };
    }
    if (exception instanceof HttpException) return applicationError(exception);
    return { code: ErrorCode.Internal };
  }
}
