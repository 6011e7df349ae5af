import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { AccessTokenService } from './access-token.service.js';
import { bearerToken } from './bearer-token.js';
import type { Principal } from './principal.js';
import { IS_PUBLIC } from './public.decorator.js';
import { ROLES } from './roles.decorator.js';
import { STEP_UP, type StepUpOptions } from './step-up.decorator.js';
import { FactorsConfig } from '../factors/factors.config.js';
import { FactorsRepository } from '../factors/factors.repository.js';

type Request = Parameters<typeof bearerToken>[0] & { user?: Principal };

/** What a route asks of the guard: its decorators, fixed once the application is built. */
interface RouteRules {
  isPublic: boolean;
  roles: string[] | undefined;
  stepUp: StepUpOptions | undefined;
}

/** Roles and the step-up proof come from the same session lookup as the principal, so a change applies on the next request. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly stepUpMaxAge: number;
  // Per controller class, then handler: a handler inherited by two controllers may carry different class metadata.
  private readonly rules = new WeakMap<object, WeakMap<object, RouteRules>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenService,
    private readonly factors: FactorsRepository,
    config: FactorsConfig,
  ) {
    this.stepUpMaxAge = config.STEP_UP_MAX_AGE;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { isPublic, roles, stepUp } = this.rulesOf(context);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const principal = await this.tokens.verify(bearerToken(request));
    request.user = principal;
    if (roles && !roles.some((role) => principal.roles.includes(role))) throw new AppException(ErrorCode.Forbidden);
    if (stepUp) await this.requireRecentProof(principal, stepUp);
    return true;
  }

  // Decorators are fixed once the application is built: read once per route, not three lookups per request.
  private rulesOf(context: ExecutionContext): RouteRules {
    const handler = context.getHandler();
    const cls = context.getClass();
    let ofClass = this.rules.get(cls);
    if (!ofClass) this.rules.set(cls, (ofClass = new WeakMap()));
    let rules = ofClass.get(handler);
    if (!rules) {
      const targets = [handler, cls];
      rules = {
        isPublic: Boolean(this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets)),
        roles: this.reflector.getAllAndOverride<string[] | undefined>(ROLES, targets),
        stepUp: this.reflector.getAllAndOverride<StepUpOptions | undefined>(STEP_UP, targets),
      };
      ofClass.set(handler, rules);
    }
    return rules;
  }

  // authenticatedAt came with the session lookup: only a stale proof on an onlyWithFactors route costs a query.
  private async requireRecentProof(principal: Principal, { onlyWithFactors }: StepUpOptions): Promise<void> {
    if (Date.now() - principal.authenticatedAt.getTime() <= this.stepUpMaxAge * 1000) return;
    if (onlyWithFactors && (await this.factors.activeTypesOf(principal.userId)).length === 0) return;
    throw new AppException(ErrorCode.StepUpRequired, { maxAge: this.stepUpMaxAge });
  }
}
