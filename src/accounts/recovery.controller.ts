import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Requester } from '../http/requester.js';
import { AUTH_MESSAGES } from '../auth/auth.messages.js';
import { RevokedSessionsDto } from '../auth/dto/account.dto.js';
import { Public } from '../auth/public.decorator.js';
import { ErrorCode } from '../errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { ForgotPasswordDto, ResetPasswordDto } from './dto/accounts.dto.js';
import { PasswordResetService } from './password-reset.service.js';

@ApiTags('accounts')
@Controller('auth/password')
export class RecoveryController {
  constructor(private readonly resets: PasswordResetService) {}

  @Public()
  @RateLimit('account', 'recipient')
  @Post('forgot')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Mail a link to reset the password',
    description:
      'The same 202, in the same time, whether the address has an account or not. A registered ' +
      'address gets a single-use link valid PASSWORD_RESET_TTL seconds; a newer request voids older links. ' +
      'Rate limited per client address (THROTTLE_LOGIN_LIMIT per THROTTLE_LOGIN_TTL) and per recipient ' +
      '(THROTTLE_FORGOT_RECIPIENT_LIMIT per THROTTLE_FORGOT_RECIPIENT_TTL), registered or not: the same 429 for every address.',
  })
  @ApiSuccess(202, AUTH_MESSAGES.resetRequested)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.PayloadTooLarge, ErrorCode.TooManyRequests)
  forgotPassword(@Body() dto: ForgotPasswordDto, @CurrentRequester() who: Requester) {
    this.resets.requestReset(dto.email, who);
    return ok(AUTH_MESSAGES.resetRequested);
  }

  @Public()
  @RateLimit('account')
  @Post('reset')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Set a new password with the link of the mail, ending every session',
    description:
      'An unknown, spent or expired token: 400 with `errors` ["El enlace no es válido o ha caducado"], checked before ' +
      'the new password is hashed. Rate limited per client address (THROTTLE_LOGIN_LIMIT per THROTTLE_LOGIN_TTL).',
  })
  @ApiSuccess(200, AUTH_MESSAGES.passwordReset, RevokedSessionsDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.PayloadTooLarge, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async resetPassword(@Body() dto: ResetPasswordDto, @CurrentRequester() who: Requester) {
    return ok(AUTH_MESSAGES.passwordReset, { revokedSessions: await this.resets.reset(dto.token, dto.newPassword, who) });
  }
}
