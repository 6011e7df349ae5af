import { Body, Controller, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthConfig } from './auth.config.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { ErrorCode } from '../errors/error-code.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { AUTH_MESSAGES } from './auth.messages.js';
import { AuthService } from './auth.service.js';
import { RevokedSessionsDto } from './dto/account.dto.js';
import { LogoutDto } from './dto/logout.dto.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { SIGN_OUT_HEADERS, signOutOf } from './sign-out.js';

@ApiTags('auth')
@Controller('auth')
export class LogoutController {
  private readonly signOut: (reply: FastifyReply) => void;

  constructor(
    private readonly auth: AuthService,
    config: AuthConfig,
  ) {
    this.signOut = signOutOf(config);
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
      'Rate limited per client address.\n\n' +
      'When the caller\'s own session ends (no `token`, a `token` of the bearer\'s own session, or ' +
      '`scope` `all`), the 200 carries `Clear-Site-Data: "storage"` and, in cookie mode, clears the ' +
      'refresh cookie (`Max-Age=0`); `"cookies"` is added only with `LOGOUT_CLEAR_SITE_COOKIES=true`, ' +
      'as it clears every cookie of the registrable domain, sibling subdomains included. Ending ' +
      'another session (a `token` of another session, `scope` `others`) sends neither.',
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
  @ApiSuccess(200, AUTH_MESSAGES.loggedOut, RevokedSessionsDto, { optionalData: true, headers: SIGN_OUT_HEADERS })
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
    const { ownSession, revokedSessions } = await this.auth.logout(principal, dto, who);
    if (ownSession) this.signOut(reply);
    return ok(AUTH_MESSAGES.loggedOut, revokedSessions === undefined ? undefined : { revokedSessions });
  }
}
