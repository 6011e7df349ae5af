import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { AccessTokenService } from './access-token.service.js';
import { bearerToken } from './bearer-token.js';
import type { Principal } from './principal.js';
import { IS_PUBLIC } from './public.decorator.js';
import { ROLES } from './roles.decorator.js';

type Request = Parameters<typeof bearerToken>[0] & { user?: Principal };

/** Roles come from the same session lookup as the principal, so a change applies on the next request. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const principal = await this.tokens.verify(bearerToken(request));
    request.user = principal;
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
    if (roles && !roles.some((role) => principal.roles.includes(role))) throw new AppException(ErrorCode.Forbidden);
    return true;
  }
}
