import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../auth/bearer-token.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { fingerprintOf, matchingToken } from './admin-token.js';

export const ADMIN_TOKENS = Symbol('ADMIN_TOKENS');

@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(@Inject(ADMIN_TOKENS) private readonly tokens: readonly string[]) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest & { admin?: string }>();
    const presented = bearerToken(request);
    const token = presented === null ? undefined : matchingToken(presented, this.tokens);
    if (!token) throw new AppException(ErrorCode.InvalidToken);
    request.admin = fingerprintOf(token);
    return true;
  }
}
