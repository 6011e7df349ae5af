import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ErrorCode } from '../errors/error-code.js';
import { StepUpService } from '../factors/step-up.service.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { proofOf, SteppedUpDto, StepUpDto } from './dto/second-factor.dto.js';
import { MFA_MESSAGES } from './mfa.messages.js';

@ApiTags('mfa')
@ApiBearerAuth()
@Controller('auth/step-up')
export class StepUpController {
  constructor(private readonly stepUps: StepUpService) {}

  @Post()
  @RateLimit('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Prove a factor again on this session (RFC 9470 step-up)',
    description:
      'Exactly one of `code`, `recoveryCode`, `webauthn` or, for a user without second factors only, ' +
      '`password` (with a factor, a password answers 400). Raises this session only: its `amr` gains ' +
      'the method and `authenticatedAt` is now, so routes that require a recent proof let it in for ' +
      'STEP_UP_MAX_AGE seconds. A wrong proof: 401 `Código de verificación inválido` (a wrong password: ' +
      '`Credenciales inválidas`), counted per user with the login limit (then 429).',
  })
  @ApiSuccess(200, MFA_MESSAGES.steppedUp, SteppedUpDto)
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidToken,
    ErrorCode.InvalidMfaCode,
    ErrorCode.InvalidCredentials,
    ErrorCode.TokenExpired,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async stepUp(@CurrentPrincipal() principal: Principal, @Body() dto: StepUpDto, @CurrentRequester() who: Requester) {
    return ok(MFA_MESSAGES.steppedUp, await this.stepUps.stepUp(principal.userId, principal.sessionId, proofOf(dto, true), who));
  }
}
