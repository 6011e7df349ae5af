import { Body, Controller, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AUTH_MESSAGES } from '../auth/auth.messages.js';
import { AuthService } from '../auth/auth.service.js';
import { TokensDto } from '../auth/dto/tokens.dto.js';
import { Public } from '../auth/public.decorator.js';
import { TokenAnswer } from '../auth/token-answer.js';
import { ErrorCode } from '../errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { LoginMfaDto, proofOf } from './dto/second-factor.dto.js';

@ApiTags('mfa')
@Controller('auth/login')
export class LoginMfaController {
  constructor(
    private readonly auth: AuthService,
    private readonly answer: TokenAnswer,
  ) {}

  @Public()
  // Per client address: the mfaToken is made up by whoever sends it, so it keys no allowance.
  @RateLimit('account')
  @Post('mfa')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "A login's second step: the mfaToken and one proof of a factor",
    description:
      'Exactly one of `code` (TOTP), `recoveryCode` or `webauthn` (a passkey assertion), else 400. Answers ' +
      'like a login: tokens (the refresh token in its cookie in cookie mode); the session records `amr` ' +
      '`["pwd","otp"]` (a TOTP or recovery code) or `["pwd","hwk"]` (a passkey). A wrong proof, or an ' +
      'mfaToken that is unknown, expired, used or killed: 401 `Código de verificación inválido`. The ' +
      "fifth wrong proof kills the mfaToken; past THROTTLE_LOGIN_LIMIT wrong proofs in THROTTLE_LOGIN_TTL " +
      'seconds the user gets 429, whatever mfaToken. A recovery code ends every other session of the ' +
      'user (`recovery_code_used`) and mails the user.',
  })
  @ApiSuccess(200, AUTH_MESSAGES.loggedIn, TokensDto)
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidMfaCode,
    ErrorCode.InvalidCredentials,
    ErrorCode.AccountLocked,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async loginWithFactor(@Body() dto: LoginMfaDto, @CurrentRequester() who: Requester, @Res({ passthrough: true }) reply: FastifyReply) {
    const tokens = await this.auth.loginWithFactor(dto.mfaToken, proofOf(dto), who);
    return ok(AUTH_MESSAGES.loggedIn, this.answer.send(tokens, reply));
  }
}
