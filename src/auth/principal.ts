import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** Who a verified access token speaks for: set on `request.user` by the JWT strategy. */
export interface Principal {
  userId: string;
  sessionId: string;
}

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ user: Principal }>().user,
);
