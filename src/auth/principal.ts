import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** From the guard's one session lookup: enough to answer /me without another query. */
export interface Principal {
  userId: string;
  sessionId: string;
  email: string;
  roles: string[];
}

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ user: Principal }>().user,
);
