import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/**
 * Who a verified access token speaks for, from the one session lookup the guard made: set on
 * `request.user` by the auth guard, and enough to answer /me without another query.
 */
export interface Principal {
  userId: string;
  sessionId: string;
  email: string;
  /** Read with the session on this very request: a role granted or removed applies at once. */
  roles: string[];
}

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ user: Principal }>().user,
);
