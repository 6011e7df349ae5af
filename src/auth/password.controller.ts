import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { StepUp } from './step-up.decorator.js';
import { ErrorCode } from '../errors/error-code.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RevokedSessionsDto } from './dto/account.dto.js';
import { AUTH_MESSAGES } from './auth.messages.js';
import { AuthService } from './auth.service.js';
import { ChangePasswordDto } from './dto/password.dto.js';
import { CurrentPrincipal, type Principal } from './principal.js';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('auth')
export class PasswordController {
  constructor(private readonly auth: AuthService) {}

  @Post('password')
  // A user with factors proves one first (POST /auth/step-up): a stolen access token alone must not change how the account is protected.
  @StepUp({ onlyWithFactors: true })
  @RateLimit('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Change the password and end every other session',
    description:
      'The current session goes on; every other one ends (`password_changed`). A wrong ' +
      '`currentPassword` answers 401 `Credenciales inválidas` and counts against the login rate limit.',
  })
  @ApiSuccess(200, AUTH_MESSAGES.passwordChanged, RevokedSessionsDto)
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidToken,
    ErrorCode.InvalidCredentials,
    ErrorCode.TokenExpired,
    ErrorCode.StepUpRequired,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async changePassword(@CurrentPrincipal() principal: Principal, @Body() dto: ChangePasswordDto, @CurrentRequester() who: Requester) {
    const revokedSessions = await this.auth.changePassword(principal, dto.currentPassword, dto.newPassword, who);
    return ok(AUTH_MESSAGES.passwordChanged, { revokedSessions });
  }
}
