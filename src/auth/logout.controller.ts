import { Body, Controller, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ConfigService } from '@nestjs/config';
import type { Env } from '../config/env.validation.js';
import { clearRefreshCookie } from './refresh-cookie.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { ErrorCode } from '../errors/error-code.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import type { Requester } from '../audit/audit.repository.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { AUTH_MESSAGES } from './auth.messages.js';
import { AuthService } from './auth.service.js';
import { RevokedSessionsDto } from './dto/account.dto.js';
import { LogoutDto } from './dto/logout.dto.js';
import { CurrentPrincipal, type Principal } from './principal.js';

@ApiTags('auth')
@Controller('auth')
export class LogoutController {
  private readonly cookieMode: boolean;

  constructor(
    private readonly auth: AuthService,
    config: ConfigService<Env, true>,
  ) {
    this.cookieMode = config.get('REFRESH_TOKEN_COOKIE', { infer: true });
  }

  @ApiBearerAuth()
  @RateLimit('logout')
  @Post('logout')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'End a session for good',
    description:
      'Revokes the session of the bearer token, or of `token` when given (same user only); with ' +
      '`scope` `others` or `all`, every other live session of the user, or every one, and ' +
      '`data: { revokedSessions }` says how many. From then on their tokens, refresh tokens included, ' +
      'are refused on every route of every instance. A token already logged out answers 401. ' +
      'Rate limited per client address.',
  })
  // The first example is what "Try it out" fills in: `{}` logs the bearer out as offered.
  @ApiBody({
    type: LogoutDto,
    required: false,
    examples: {
      'this session': { value: {} },
      'every other session': { value: { scope: 'others' } },
      'every session': { value: { scope: 'all' } },
      'another session of mine': { value: { token: '<its access token>' } },
    },
  })
  @ApiSuccess(200, AUTH_MESSAGES.loggedOut, RevokedSessionsDto, { optionalData: true })
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
    @CurrentRequester() who: Requester,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const revokedSessions = await this.auth.logout(principal, dto, who);
    // `others` leaves this client signed in: its cookies and storage stay.
    if (dto.scope !== 'others') {
      reply.header('clear-site-data', '"cookies", "storage"');
      if (this.cookieMode && dto.token === undefined) clearRefreshCookie(reply);
    }
    return ok(AUTH_MESSAGES.loggedOut, revokedSessions === undefined ? undefined : { revokedSessions });
  }
}
