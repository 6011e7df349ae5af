import type { Amr } from '../sessions/amr.js';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** From the guard's one session lookup: enough to answer /me without another query. */
export interface Principal {
  userId: string;
  sessionId: string;
  email: string;
  roles: string[];
  /** How this session was authenticated (RFC 8176), and when a factor was last proved on it. */
  amr: Amr[];
  authenticatedAt: Date;
}

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<{ user: Principal }>().user,
);
