import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
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
import { SessionListDto } from './dto/session.dto.js';
import { SessionsQueryDto } from './dto/sessions-query.dto.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { SIGN_OUT_HEADERS, signOutOf } from './sign-out.js';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('auth/sessions')
export class SessionsController {
  private readonly signOut: (reply: FastifyReply) => void;

  constructor(
    private readonly auth: AuthService,
    config: AuthConfig,
  ) {
    this.signOut = signOutOf(config);
  }

  @Get()
  @ApiOperation({
    summary: "The caller's sessions",
    description:
      'Live sessions, newest first; with `?state=ended`, the ended ones still kept, last ended first, ' +
      'with `endedAt` and `endReason`. Paged: `limit` (1 to 100, default 50), and `cursor` from the ' +
      'previous page\'s `nextCursor` (absent on the last page). `lastUsedAt` is recorded at most once a minute.',
  })
  @ApiSuccess(200, AUTH_MESSAGES.sessions, SessionListDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.Internal)
  async listSessions(@CurrentPrincipal() principal: Principal, @Query() query: SessionsQueryDto) {
    return ok(AUTH_MESSAGES.sessions, await this.auth.listSessions(principal, query.state ?? 'live', query.limit ?? 50, query.cursor));
  }

  @Delete(':id')
  @RateLimit('logout')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'End one of your own sessions by id',
    description:
      'Another user’s session, an ended one, an unknown or a malformed id: the same 404. Rate limited ' +
      'like logout. The caller\'s own id is a logout: the 200 then carries `Clear-Site-Data` and, in ' +
      'cookie mode, clears the refresh cookie, as logout does; another session\'s id, neither.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiSuccess(200, AUTH_MESSAGES.loggedOut, undefined, { headers: SIGN_OUT_HEADERS })
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.NotFound, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async endSession(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @CurrentRequester() who: Requester,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (await this.auth.endSessionById(principal, id, who)) this.signOut(reply);
    return ok(AUTH_MESSAGES.loggedOut);
  }
}
