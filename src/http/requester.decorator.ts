import { isIP } from 'node:net';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Requester } from './requester.js';

export function requesterOf(request: FastifyRequest): Requester {
  const userAgent = request.headers['user-agent'];
  return {
    ip: isIP(request.ip) ? request.ip : null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
    requestId: String(request.id),
  };
}

export const CurrentRequester = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  requesterOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
