import { Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSuccess } from '../common/api-responses.decorator.js';
import { ok } from '../common/envelope.js';
import { ErrorCode } from '../common/error-code.js';
import { RateLimit } from '../common/rate-limit.decorator.js';
import { ReqContext, type RequestContext } from '../common/request-context.js';
import { AUTH_MESSAGES } from './auth.messages.js';
import { AuthService } from './auth.service.js';
import { LoginDto, RegisterDto } from './dto/credentials.dto.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { Public } from './public.decorator.js';

const UUID_EXAMPLE = '3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('register')
  @ApiOperation({ summary: 'Create an account' })
  @ApiSuccess(201, AUTH_MESSAGES.registered, { id: UUID_EXAMPLE, email: 'ana@example.com' })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.EmailTaken, ErrorCode.PayloadTooLarge, ErrorCode.Internal)
  async register(@Body() dto: RegisterDto, @ReqContext() ctx: RequestContext) {
    return ok(AUTH_MESSAGES.registered, await this.auth.register(dto.email, dto.password, ctx));
  }

  @Public()
  @RateLimit('login')
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Open a session and get an access token' })
  @ApiSuccess(200, AUTH_MESSAGES.loggedIn, {
    accessToken: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
    tokenType: 'Bearer',
    expiresIn: 900,
    sessionId: UUID_EXAMPLE,
  })
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidCredentials,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async login(@Body() dto: LoginDto, @ReqContext() ctx: RequestContext) {
    return ok(AUTH_MESSAGES.loggedIn, await this.auth.login(dto.email, dto.password, ctx));
  }

  @ApiBearerAuth()
  @Get('me')
  @ApiOperation({ summary: 'Who the bearer token speaks for' })
  @ApiSuccess(200, AUTH_MESSAGES.me, { id: UUID_EXAMPLE, email: 'ana@example.com', sessionId: UUID_EXAMPLE })
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.Internal)
  me(@CurrentPrincipal() principal: Principal) {
    return ok(AUTH_MESSAGES.me, this.auth.me(principal));
  }
}
