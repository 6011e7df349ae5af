import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { AuthConfig, type IntrospectionClient, introspectionClientsOf } from './auth.config.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { ClientAuthFailuresService } from '../rate-limit/client-auth-failures.service.js';
import { introspectionClientOf, triedClientIdOf } from './introspection-client.js';

/** The description those routes give beside their `basic` security scheme. */
export const CLIENT_AUTH =
  'HTTP Basic with an INTROSPECTION_CLIENTS id and secret (`curl -u id:secret`). Repeated failures from one address: ' +
  '429 with Retry-After (THROTTLE_INTROSPECTION_FAILURE_LIMIT per THROTTLE_INTROSPECTION_FAILURE_TTL), for the rest of the window.';

/** With no INTROSPECTION_CLIENTS configured, every request is refused. */
@Injectable()
export class IntrospectionClientGuard implements CanActivate {
  private readonly clients: IntrospectionClient[];

  constructor(
    config: AuthConfig,
    private readonly failures: ClientAuthFailuresService,
  ) {
    this.clients = introspectionClientsOf(config);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; ip: string; id?: string }>();
    const { authorization } = request.headers;
    let retryAfter: number;
    if (introspectionClientOf(authorization, this.clients)) {
      retryAfter = this.failures.waitFor(request.ip);
      if (!retryAfter) return true;
    } else {
      retryAfter = await this.failures.failed(request.ip, triedClientIdOf(authorization), request.id);
      if (!retryAfter) throw new AppException(ErrorCode.InvalidClient);
    }
    throw new AppException(ErrorCode.TooManyRequests, { retryAfter });
  }
}
