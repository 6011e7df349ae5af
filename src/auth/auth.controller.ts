import { Body, Controller, Get, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { ErrorCode } from '../errors/error-code.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { AUTH_MESSAGES } from './auth.messages.js';
import { AuthService } from './auth.service.js';
import { LoginDto } from './dto/credentials.dto.js';
import { MeDto } from './dto/account.dto.js';
import { MfaRequiredDto } from './dto/mfa-required.dto.js';
import { RefreshDto } from './dto/refresh.dto.js';
import { TokensDto } from './dto/tokens.dto.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { Public } from './public.decorator.js';
import { SignInService } from './sign-in.service.js';
import { TokenAnswer } from './token-answer.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly signIn: SignInService,
    private readonly answer: TokenAnswer,
  ) {}

  @Public()
  @RateLimit('login')
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Open a session and get an access token',
    description:
      'For a user with an active second factor the right password opens no session: 200 ' +
      '`Se requiere un segundo factor` with `data` an `MfaRequiredDto` (`mfaRequired: true`, `mfaToken`, ' +
      '`methods`, and with a passkey `webauthn` request options), no tokens and no cookie; the login ' +
      'goes on at POST /api/v1/auth/login/mfa.',
  })
  @ApiExtraModels(MfaRequiredDto)
  @ApiSuccess(200, AUTH_MESSAGES.loggedIn, TokensDto)
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidCredentials,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async login(@Body() dto: LoginDto, @CurrentRequester() who: Requester, @Res({ passthrough: true }) reply: FastifyReply) {
    const answer = await this.auth.login(dto.email, dto.password, who);
    if ('mfaRequired' in answer) return ok(AUTH_MESSAGES.mfaRequired, answer);
    return ok(AUTH_MESSAGES.loggedIn, this.answer.send(answer, reply));
  }

  @Public()
  @RateLimit('refresh')
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Rotate the refresh token and get a fresh access token',
    description:
      'The presented refresh token is rotated. Presented again within REFRESH_REUSE_GRACE seconds, ' +
      'before its successor is used, it gets that same successor (a retry is harmless); later, it is ' +
      'reuse: the session ends and the answer is 401. In cookie mode the token is the cookie, and ' +
      'the body must be JSON (`{}`). Rate limited per client address and session.',
  })
  @ApiBody({ type: RefreshDto, required: false })
  @ApiSuccess(200, AUTH_MESSAGES.refreshed, TokensDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.PayloadTooLarge, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async refresh(
    @Body() dto: RefreshDto,
    @CurrentRequester() who: Requester,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const token = this.answer.presented(dto.refreshToken, request);
    try {
      return ok(AUTH_MESSAGES.refreshed, this.answer.send(await this.signIn.refresh(token, who), reply));
    } catch (err) {
      this.answer.refused(err, reply);
      throw err;
    }
  }

  @ApiBearerAuth()
  @Get('me')
  @ApiOperation({ summary: 'Who the bearer token speaks for' })
  @ApiSuccess(200, AUTH_MESSAGES.me, MeDto)
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.Internal)
  me(@CurrentPrincipal() principal: Principal) {
    return ok(AUTH_MESSAGES.me, this.auth.me(principal));
  }
}
