import type { ArgumentsHost } from '@nestjs/common';
import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  HttpException,
  Logger,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnprocessableEntityException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AllExceptionsFilter, loggableError } from './all-exceptions.filter.js';
import { AppException } from './app.exception.js';
import { ErrorCode } from './error-code.js';

interface Recorded {
  status?: number;
  headers: Record<string, string>;
  contentType?: string;
  body?: unknown;
  sends: number;
}

function fakeHost(requestId = 'req-1', raw: { destroyed: boolean } = { destroyed: false }) {
  const recorded: Recorded = { headers: {}, sends: 0 };
  const reply = {
    header(name: string, value: string) {
      recorded.headers[name.toLowerCase()] = value;
      return reply;
    },
    status(code: number) {
      recorded.status = code;
      return reply;
    },
    code(code: number) {
      recorded.status = code;
      return reply;
    },
    type(contentType: string) {
      recorded.contentType = contentType;
      return reply;
    },
    send(body: unknown) {
      recorded.body = body;
      recorded.sends += 1;
      return reply;
    },
  };
  const request = { id: requestId, headers: {}, raw };
  const host = {
    switchToHttp: () => ({ getResponse: () => reply, getRequest: () => request, getNext: () => undefined }),
    getType: () => 'http',
    getArgs: () => [request, reply],
    getArgByIndex: (i: number) => [request, reply][i],
  } as unknown as ArgumentsHost;
  return { host, recorded };
}

function run(exception: unknown) {
  const { host, recorded } = fakeHost();
  new AllExceptionsFilter().catch(exception, host);
  expect(recorded.sends).toBe(1);
  return recorded;
}

const WWW_AUTHENTICATE = 'Bearer error="invalid_token"';

describe('AllExceptionsFilter', () => {
  let loggerError: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    loggerError = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('AppException', () => {
    it.each([
      [ErrorCode.InvalidRequest, 400, 'Solicitud inválida'],
      [ErrorCode.InvalidToken, 401, 'Token no proporcionado o inválido'],
      [ErrorCode.TokenExpired, 403, 'El token ha expirado'],
      [ErrorCode.InvalidCredentials, 401, 'Credenciales inválidas'],
      [ErrorCode.EmailTaken, 409, 'El correo ya está registrado'],
      [ErrorCode.NotFound, 404, 'Recurso no encontrado'],
      [ErrorCode.PayloadTooLarge, 413, 'Solicitud demasiado grande'],
      [ErrorCode.TooManyRequests, 429, 'Demasiadas solicitudes, intente más tarde'],
      [ErrorCode.ServiceUnavailable, 503, 'Servicio no disponible'],
      [ErrorCode.Internal, 500, 'Error interno del servidor'],
    ])('%s → %i with the exact envelope', (code, status, message) => {
      const r = run(new AppException(code));
      expect(r.status).toBe(status);
      expect(r.body).toStrictEqual({ success: false, message });
      expect(r.contentType).toMatch(/^application\/json/);
      expect(r.headers['cache-control']).toBe('no-store');
    });

    it.each([ErrorCode.InvalidToken, ErrorCode.TokenExpired])('%s sets WWW-Authenticate', (code) => {
      expect(run(new AppException(code)).headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
    });

    it.each([
      ErrorCode.InvalidRequest,
      ErrorCode.InvalidCredentials,
      ErrorCode.EmailTaken,
      ErrorCode.NotFound,
      ErrorCode.PayloadTooLarge,
      ErrorCode.TooManyRequests,
      ErrorCode.ServiceUnavailable,
      ErrorCode.Internal,
    ])('%s does not set WWW-Authenticate', (code) => {
      expect(run(new AppException(code)).headers).not.toHaveProperty('www-authenticate');
    });

    it('every 401 for a token is byte-identical', () => {
      const a = run(new AppException(ErrorCode.InvalidToken));
      const b = run(new AppException(ErrorCode.InvalidToken));
      expect(JSON.stringify(a.body)).toBe(JSON.stringify(b.body));
      expect(a.headers).toStrictEqual(b.headers);
    });

    it('TooManyRequests with retryAfter sets Retry-After in whole seconds', () => {
      const r = run(new AppException(ErrorCode.TooManyRequests, { retryAfter: 42 }));
      expect(r.status).toBe(429);
      expect(r.headers['retry-after']).toBe('42');
      expect(r.body).toStrictEqual({ success: false, message: 'Demasiadas solicitudes, intente más tarde' });
    });

    it('rounds a fractional Retry-After up and never below 1', () => {
      expect(run(new AppException(ErrorCode.TooManyRequests, { retryAfter: 1.2 })).headers['retry-after']).toBe('2');
      expect(run(new AppException(ErrorCode.TooManyRequests, { retryAfter: 0 })).headers['retry-after']).toBe('1');
    });

    it('no Retry-After without retryAfter', () => {
      expect(run(new AppException(ErrorCode.TooManyRequests)).headers).not.toHaveProperty('retry-after');
    });

    it('a 400 with errors carries them', () => {
      const errors = ['email must be an email', 'password must be longer than or equal to 8 characters'];
      const r = run(new AppException(ErrorCode.InvalidRequest, { errors }));
      expect(r.status).toBe(400);
      expect(r.body).toStrictEqual({ success: false, message: 'Solicitud inválida', errors });
    });

    it('an empty errors list is left out', () => {
      expect(run(new AppException(ErrorCode.InvalidRequest, { errors: [] })).body).toStrictEqual({
        success: false,
        message: 'Solicitud inválida',
      });
    });

    it('does not log expected errors', () => {
      run(new AppException(ErrorCode.InvalidToken));
      expect(loggerError).not.toHaveBeenCalled();
    });
  });

  // Fastify's errors and the router's 404 never arrive as HttpExceptions: the adapter turns them
  // into AppExceptions (http/fastify-adapter.spec.ts). Every HttpException here is an application's.
  describe("an application's HttpException", () => {
    it('keeps its status with the standard message of the tables when it gave none', () => {
      for (const [e, status, message] of [
        [new BadRequestException(), 400, 'Solicitud inválida'],
        [new NotFoundException(), 404, 'Recurso no encontrado'],
        [new PayloadTooLargeException(), 413, 'Solicitud demasiado grande'],
        [new HttpException({ retry: true }, 429), 429, 'Demasiadas solicitudes, intente más tarde'],
        [new ServiceUnavailableException({ status: 'error', info: {}, error: { database: 'down' } }), 503, 'Servicio no disponible'],
      ] as const) {
        const r = run(e);
        expect(r.status).toBe(status);
        expect(r.body).toStrictEqual({ success: false, message });
        expect(r.headers['cache-control']).toBe('no-store');
      }
    });

    it('a 400 or 404 keeps the message it was given', () => {
      const bad = run(new BadRequestException('La fecha debe ser futura'));
      expect(bad.status).toBe(400);
      expect(bad.body).toStrictEqual({ success: false, message: 'La fecha debe ser futura' });
      const missing = run(new NotFoundException('La nota no existe'));
      expect(missing.status).toBe(404);
      expect(missing.body).toStrictEqual({ success: false, message: 'La nota no existe' });
    });

    it('a list of messages (a validation pipe of its own) becomes errors[] under the standard message', () => {
      const r = run(new BadRequestException(['title must be a string', 'body should not be empty']));
      expect(r.status).toBe(400);
      expect(r.body).toStrictEqual({
        success: false,
        message: 'Solicitud inválida',
        errors: ['title must be a string', 'body should not be empty'],
      });
    });

    it('a 405 keeps its status', () => {
      const r = run(new MethodNotAllowedException());
      expect(r.status).toBe(405);
      expect(r.body).toStrictEqual({ success: false, message: 'Solicitud rechazada' });
    });

    it('a 415 keeps its status', () => {
      expect(run(new UnsupportedMediaTypeException()).status).toBe(415);
    });

    it('a 401 carries WWW-Authenticate, as every 401 must', () => {
      const r = run(new UnauthorizedException());
      expect(r.status).toBe(401);
      expect(r.body).toStrictEqual({ success: false, message: 'Token no proporcionado o inválido' });
      expect(r.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
      expect(run(new UnauthorizedException('Firma del webhook inválida')).body).toStrictEqual({
        success: false,
        message: 'Firma del webhook inválida',
      });
    });

    it("an application's 403, 409 or 422 keeps its status and the message it was given", () => {
      for (const [e, status] of [
        [new ForbiddenException('Solo el autor puede editarlo'), 403],
        [new ConflictException('Ese título ya existe'), 409],
        [new UnprocessableEntityException('La fecha ya pasó'), 422],
        [new HttpException('Soy una tetera', 418), 418],
      ] as const) {
        const r = run(e);
        expect(r.status).toBe(status);
        expect(r.body).toStrictEqual({ success: false, message: e.message });
        expect(r.headers).not.toHaveProperty('www-authenticate');
      }
    });

    it('without a message of its own, the standard Spanish message of its status', () => {
      for (const [e, status, message] of [
        [new ForbiddenException(), 403, 'No tiene permiso para esta acción'],
        // What Nest throws when a guard returns false.
        [new ForbiddenException('Forbidden resource'), 403, 'No tiene permiso para esta acción'],
        [new ConflictException(), 409, 'Conflicto con el estado actual del recurso'],
        [new UnprocessableEntityException(), 422, 'No se puede procesar la solicitud'],
        [new HttpException({ reason: 'teapot' }, 418), 418, 'Solicitud rechazada'],
      ] as const) {
        const r = run(e);
        expect(r.status).toBe(status);
        expect(r.body).toStrictEqual({ success: false, message });
      }
    });

    it('a 5xx keeps its status but never its own message', () => {
      const bad = run(new HttpException('Bad Gateway: upstream 10.0.0.3', 502));
      expect(bad.status).toBe(502);
      expect(bad.body).toStrictEqual({ success: false, message: 'Error en un servicio externo' });
      const odd = run(new HttpException('boom at 10.0.0.3', 599));
      expect(odd.status).toBe(599);
      expect(odd.body).toStrictEqual({ success: false, message: 'Error interno del servidor' });
    });
  });

  describe('anything else', () => {
    it('an arbitrary Error → 500 and nothing from the error reaches the body', () => {
      const error = new Error(
        'relation "sessions" does not exist: SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL',
      );
      Object.assign(error, { code: '42P01', detail: 'driver detail', query: 'SELECT 1 FROM sessions' });
      error.stack = `Error: ${error.message}\n    at PostgresQueryRunner.query (/app/node_modules/typeorm/driver.js:1:1)`;

      const r = run(error);
      expect(r.status).toBe(500);
      expect(r.body).toStrictEqual({ success: false, message: 'Error interno del servidor' });
      const text = JSON.stringify(r.body);
      for (const leak of ['SELECT', 'sessions', 'relation', '42P01', 'driver', 'typeorm', 'node_modules', '    at ']) {
        expect(text).not.toContain(leak);
      }
      expect(r.headers).not.toHaveProperty('www-authenticate');
      expect(r.headers['cache-control']).toBe('no-store');
    });

    it('logs an unexpected error with the request id', () => {
      const error = new Error('boom');
      const { host } = fakeHost('req-42');
      new AllExceptionsFilter().catch(error, host);
      expect(loggerError).toHaveBeenCalledTimes(1);
      expect(loggerError.mock.calls[0]![0]).toMatchObject({
        err: { type: 'Error', message: 'boom', stack: error.stack },
        requestId: 'req-42',
      });
    });

    it('logs a failed query by its code and constraint, never its text, parameters or values', () => {
      const driverError = Object.assign(new Error('value too long for type character varying(254)'), {
        severity: 'ERROR',
        code: '22001',
        constraint: undefined,
        table: 'users',
        detail: 'Failing row contains (secret@example.com, scrypt$16384$8$5$salt$hash).',
        routine: 'varchar',
      });
      const error = new QueryFailedError(
        'INSERT INTO "users"("email", "password_hash") VALUES ($1, $2)',
        ['secret@example.com', 'scrypt$16384$8$5$salt$hash'],
        driverError,
      );
      const { host } = fakeHost('req-7');
      new AllExceptionsFilter().catch(error, host);
      const logged = JSON.stringify(loggerError.mock.calls[0]![0]);
      expect(loggerError.mock.calls[0]![0]).toMatchObject({
        err: { type: 'QueryFailedError', code: '22001', table: 'users' },
        requestId: 'req-7',
      });
      for (const leak of ['secret@example.com', 'scrypt$', 'INSERT', 'password_hash', 'Failing row', 'too long']) {
        expect(logged).not.toContain(leak);
      }
    });

    it('keeps the code and constraint of a driver error that TypeORM did not wrap', () => {
      const error = Object.assign(new Error('duplicate key value violates unique constraint "UQ_users_email"'), {
        severity: 'ERROR',
        code: '23505',
        constraint: 'UQ_users_email',
        detail: 'Key (email)=(ana@example.com) already exists.',
      });
      expect(loggableError(error)).toStrictEqual({
        type: 'Error',
        code: '23505',
        constraint: 'UQ_users_email',
        table: undefined,
        routine: undefined,
      });
    });

    it("keeps the message of the driver's own errors, which quote no values", () => {
      const error = new QueryFailedError('SELECT 1 FROM sessions WHERE id = $1', ['secret-id'], new Error('Query read timeout'));
      expect(loggableError(error)).toStrictEqual({ type: 'QueryFailedError', code: undefined, message: 'Query read timeout' });
    });

    it('answers nothing and logs no error when the client hung up mid-request', () => {
      const loggerDebug = vi.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
      const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
      const { host, recorded } = fakeHost('req-9', { destroyed: true });
      new AllExceptionsFilter().catch(aborted, host);
      expect(recorded.sends).toBe(0);
      expect(loggerError).not.toHaveBeenCalled();
      expect(loggerDebug).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(loggerDebug.mock.calls[0])).not.toContain('    at ');
    });

    it('still answers 500 to a connection reset that is not the client going away', () => {
      const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      expect(run(reset).status).toBe(500);
      expect(loggerError).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['a string', 'database is down'],
      ['null', null],
      ['undefined', undefined],
      ['a plain object', { message: 'ECONNREFUSED 127.0.0.1:5432', status: 401 }],
      ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ])('%s → 500', (_, thrown) => {
      const r = run(thrown);
      expect(r.status).toBe(500);
      expect(r.body).toStrictEqual({ success: false, message: 'Error interno del servidor' });
    });
  });
});
