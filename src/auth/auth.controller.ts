import { Body, Controller, Get, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from '../errors/app.exception.js';
import { AuthConfig } from './auth.config.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { ErrorCode } from '../errors/error-code.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import type { Requester } from '../audit/audit.repository.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { AUTH_MESSAGES } from './auth.messages.js';
import { AuthService, type SessionTokens } from './auth.service.js';
import { LoginDto, RegisterDto } from './dto/credentials.dto.js';
import { MeDto, RegisteredUserDto } from './dto/account.dto.js';
import { RefreshDto } from './dto/refresh.dto.js';
import { TokensDto } from './dto/tokens.dto.js';
import { clearRefreshCookie, refreshCookieOf, setRefreshCookie } from './refresh-cookie.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { Public } from './public.decorator.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  /** REFRESH_TOKEN_COOKIE: the refresh token travels in an HttpOnly cookie, never in bodies. */
  private readonly cookieMode: boolean;

  constructor(
    private readonly auth: AuthService,
    config: AuthConfig,
  ) {
    this.cookieMode = config.REFRESH_TOKEN_COOKIE;
  }

  /** The body of a login or refresh answer; in cookie mode the refresh token goes to the cookie instead. */
  private answer({ sessionEnds, refreshToken, ...tokens }: SessionTokens & { sessionEnds: Date }, reply: FastifyReply) {
    if (!this.cookieMode) return { ...tokens, refreshToken };
    setRefreshCookie(reply, refreshToken, sessionEnds);
    return tokens;
  }

  @Public()
  @RateLimit('account')
  @Post('register')
  @ApiOperation({ summary: 'Create an account', description: 'Rate limited per client address (THROTTLE_LOGIN_LIMIT per THROTTLE_LOGIN_TTL).' })
  @ApiSuccess(201, AUTH_MESSAGES.registered, RegisteredUserDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.EmailTaken, ErrorCode.PayloadTooLarge, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async register(@Body() dto: RegisterDto, @CurrentRequester() who: Requester) {
    return ok(AUTH_MESSAGES.registered, await this.auth.register(dto.email, dto.password, who));
  }

  @Public()
  @RateLimit('login')
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Open a session and get an access token' })
  @ApiSuccess(200, AUTH_MESSAGES.loggedIn, TokensDto)
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidCredentials,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async login(@Body() dto: LoginDto, @CurrentRequester() who: Requester, @Res({ passthrough: true }) reply: FastifyReply) {
    return ok(AUTH_MESSAGES.loggedIn, this.answer(await this.auth.login(dto.email, dto.password, who), reply));
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
    let token = dto.refreshToken;
    if (this.cookieMode) {
      // A cross-site form can send the cookie, but not a JSON body: one is required.
      if (request.body === undefined || !/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
        throw new AppException(ErrorCode.InvalidRequest, { errors: ['El cuerpo debe enviarse como application/json'] });
      }
      if (token !== undefined) {
        throw new AppException(ErrorCode.InvalidRequest, { errors: ['refreshToken viaja en la cookie, no en el cuerpo'] });
      }
      token = refreshCookieOf(request);
    }
    try {
      return ok(AUTH_MESSAGES.refreshed, this.answer(await this.auth.refresh(token, who), reply));
    } catch (err) {
      if (this.cookieMode && err instanceof AppException && err.code === ErrorCode.InvalidToken) clearRefreshCookie(reply);
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
