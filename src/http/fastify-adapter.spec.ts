import { HttpException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../config/load-env.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { fastifyAdapter } from './fastify-adapter.js';

const fastifyError = (statusCode: number, message: string) =>
  Object.assign(new Error(message), { name: 'FastifyError', code: 'FST_ERR_X', statusCode });

describe("the adapter's mapping of framework errors", () => {
  const adapter = fastifyAdapter(loadEnv({ JWT_SECRET: 'x'.repeat(32) }, { envFile: '' }));

  it.each([
    [400, ErrorCode.InvalidRequest, ['La solicitud está mal formada']],
    [404, ErrorCode.NotFound, undefined],
    [405, ErrorCode.NotFound, undefined],
    [408, ErrorCode.RequestTimeout, undefined],
    [413, ErrorCode.PayloadTooLarge, undefined],
    [415, ErrorCode.InvalidRequest, ['El cuerpo debe enviarse como application/json']],
    [431, ErrorCode.InvalidRequest, ['La solicitud está mal formada']],
  ])('a Fastify %i becomes %s, in our words, not its own', (status, code, errors) => {
    const mapped = adapter.mapException(fastifyError(status, "Body cannot be empty when content-type is set to 'application/json'"));
    expect(mapped).toBeInstanceOf(AppException);
    expect((mapped as AppException).code).toBe(code);
    expect((mapped as AppException).options.errors).toStrictEqual(errors);
  });

  it("leaves an application's HttpException and a 5xx alone", () => {
    const own = new HttpException('La nota no existe', 404);
    expect(adapter.mapException(own)).toBe(own);
    const timeout = fastifyError(503, 'Request timeout');
    expect(adapter.mapException(timeout)).not.toBeInstanceOf(AppException);
  });
});
