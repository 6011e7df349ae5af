import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { StepUp } from '../auth/step-up.decorator.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { TotpEnrolmentService } from '../factors/totp-enrolment.service.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { ConfirmTotpDto, EnrolTotpDto, FactorEnabledDto, PendingTotpDto } from './dto/totp.dto.js';
import { MFA_MESSAGES } from './mfa.messages.js';

const DEFAULT_NAME = 'Aplicación de autenticación';

@ApiTags('mfa')
@ApiBearerAuth()
@Controller('auth/mfa/totp')
export class TotpController {
  constructor(private readonly enrolment: TotpEnrolmentService) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  // A user who has factors proves one first: else a stolen access token could add the thief's app.
  @StepUp({ onlyWithFactors: true })
  @ApiOperation({
    summary: 'Start a TOTP factor: its secret and otpauth:// URI',
    description:
      'The factor is pending until confirmed with a first code; pending factors expire after 10 minutes. ' +
      'In production without MFA_ENCRYPTION_KEY no secret can be stored: 503.',
  })
  @ApiSuccess(200, MFA_MESSAGES.totpEnrolled, PendingTotpDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.StepUpRequired, ErrorCode.Internal, ErrorCode.ServiceUnavailable)
  async enrol(@CurrentPrincipal() principal: Principal, @Body() dto: EnrolTotpDto) {
    return ok(MFA_MESSAGES.totpEnrolled, await this.enrolment.enrol(principal.userId, principal.email, dto.name ?? DEFAULT_NAME));
  }

  @Post('confirm')
  @RateLimit('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Confirm a pending TOTP factor with its first code',
    description:
      'Every other session of the user ends (`mfa_enabled`); this session records `otp` and is ' +
      "authenticated now. The user's first factor also answers 10 recovery codes, shown once. A " +
      'wrong code, or a factor that is not pending: 401 `Código de verificación inválido`.',
  })
  @ApiSuccess(200, MFA_MESSAGES.factorEnabled, FactorEnabledDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.InvalidMfaCode, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async confirm(@CurrentPrincipal() principal: Principal, @Body() dto: ConfirmTotpDto, @CurrentRequester() who: Requester) {
    const confirmed = await this.enrolment.confirm(principal.userId, principal.sessionId, dto.factorId, dto.code, who);
    if (!confirmed) throw new AppException(ErrorCode.InvalidMfaCode);
    return ok(MFA_MESSAGES.factorEnabled, confirmed.recoveryCodes ? { recoveryCodes: confirmed.recoveryCodes } : {});
  }
}
