import { isIP } from 'node:net';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who asked, for session rows and audit rows. */
export interface RequestContext {
  /** Null when what a trusted proxy forwarded is not an address. */
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

export function requestContextOf(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent'];
  return {
    ip: isIP(request.ip) ? request.ip : null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
    requestId: String(request.id),
  };
}

export const ReqContext = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  requestContextOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
