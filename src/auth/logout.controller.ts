import { Body, Controller, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ApiSuccess } from '../common/api-responses.decorator.js';
import { ok } from '../common/envelope.js';
import { ErrorCode } from '../common/error-code.js';
import { RateLimit } from '../common/rate-limit.decorator.js';
import { ReqContext, type RequestContext } from '../common/request-context.js';
import { AUTH_MESSAGES } from './auth.messages.js';
import { AuthService } from './auth.service.js';
import { LogoutDto } from './dto/logout.dto.js';
import { CurrentPrincipal, type Principal } from './principal.js';

@ApiTags('auth')
@Controller('auth')
export class LogoutController {
  constructor(private readonly auth: AuthService) {}

  @ApiBearerAuth()
  @RateLimit('logout')
  @Post('logout')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'End a session for good',
    description:
      'Revokes the session of the bearer token, or of `token` when given (same user only). ' +
      'From then on the token is refused on every route of every instance. A token already ' +
      'logged out answers 401. Rate limited per client address.',
  })
  @ApiBody({ type: LogoutDto, required: false })
  @ApiSuccess(200, AUTH_MESSAGES.loggedOut)
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidToken,
    ErrorCode.TokenExpired,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async logout(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: LogoutDto,
    @ReqContext() ctx: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.auth.logout(principal, dto.token, ctx);
    reply.header('clear-site-data', '"cookies", "storage"');
    return ok(AUTH_MESSAGES.loggedOut);
  }
}
