import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type Env, type IntrospectionClient, introspectionClientsOf } from '../config/env.validation.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { introspectionClientOf } from './introspection-client.js';

/**
 * How those routes say, in Swagger, that they take it. Not a security scheme of the document:
 * Swagger UI's Authorize dialog submits all its schemes as one form, and a Basic scheme's
 * required fields would stop anyone authorizing the Bearer one.
 */
export const CLIENT_AUTH = 'HTTP Basic with an INTROSPECTION_CLIENTS id and secret (`curl -u id:secret`).';

/**
 * The routes of other services (introspection, the session events): HTTP Basic with one of
 * INTROSPECTION_CLIENTS, else 401 invalid_client. None configured: every request is refused.
 * Such routes are @Public(): they take no user's bearer token.
 */
@Injectable()
export class IntrospectionClientGuard implements CanActivate {
  private readonly clients: IntrospectionClient[];

  constructor(config: ConfigService<Env, true>) {
    this.clients = introspectionClientsOf({ INTROSPECTION_CLIENTS: config.get('INTROSPECTION_CLIENTS', { infer: true }) });
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    if (!introspectionClientOf(request.headers.authorization, this.clients)) throw new AppException(ErrorCode.InvalidClient);
    return true;
  }
}
