import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Requester } from '../http/requester.js';
import { AUTH_MESSAGES } from '../auth/auth.messages.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { Public } from '../auth/public.decorator.js';
import { ErrorCode } from '../errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { VerifyEmailDto } from './dto/accounts.dto.js';
import { EmailVerificationService } from './email-verification.service.js';

@ApiTags('accounts')
@Controller('auth/email/verify')
export class EmailVerificationController {
  constructor(private readonly verification: EmailVerificationService) {}

  @Public()
  @RateLimit('account')
  @Post()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Verify the email with the link of the mail', description: 'Rate limited per client address (THROTTLE_LOGIN_LIMIT per THROTTLE_LOGIN_TTL).' })
  @ApiSuccess(200, AUTH_MESSAGES.emailVerified)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.PayloadTooLarge, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async verifyEmail(@Body() dto: VerifyEmailDto, @CurrentRequester() who: Requester) {
    await this.verification.verify(dto.token, who);
    return ok(AUTH_MESSAGES.emailVerified);
  }

  @ApiBearerAuth()
  @RateLimit('account')
  @Post('resend')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Mail a new verification link (none when verified already)',
    description: 'Rate limited per client address (THROTTLE_LOGIN_LIMIT per THROTTLE_LOGIN_TTL), counted before the token is looked at.',
  })
  @ApiSuccess(202, AUTH_MESSAGES.verificationSent)
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async resendVerification(@CurrentPrincipal() principal: Principal) {
    await this.verification.resend(principal.userId);
    return ok(AUTH_MESSAGES.verificationSent);
  }
}
