import { Controller, Delete, Get, HttpCode, HttpStatus, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { StepUp } from '../auth/step-up.decorator.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { FactorsService } from '../factors/factors.service.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { FactorListDto, RevokedSessionsDto } from './dto/factors.dto.js';
import { MFA_MESSAGES } from './mfa.messages.js';

@ApiTags('mfa')
@ApiBearerAuth()
@Controller('auth/mfa/factors')
export class FactorsController {
  constructor(private readonly factors: FactorsService) {}

  @Get()
  @ApiOperation({ summary: "The caller's second factors", description: 'Confirmed factors, oldest first; a TOTP factor waiting for its first code is not listed.' })
  @ApiSuccess(200, MFA_MESSAGES.factors, FactorListDto)
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.Internal)
  async listFactors(@CurrentPrincipal() principal: Principal) {
    return ok(MFA_MESSAGES.factors, { factors: await this.factors.list(principal.userId) });
  }

  @Delete(':id')
  @HttpCode(HttpStatus.OK)
  @StepUp()
  @ApiOperation({
    summary: 'Remove one of your factors (step-up)',
    description:
      'Every other session of the user ends (`mfa_removed`); removing the last factor also voids the ' +
      'recovery codes. Another user’s factor, a pending one, an unknown or a malformed id: the same 404.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiSuccess(200, MFA_MESSAGES.factorRemoved, RevokedSessionsDto)
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.StepUpRequired, ErrorCode.NotFound, ErrorCode.Internal)
  async removeFactor(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @CurrentRequester() who: Requester) {
    const removed = await this.factors.remove(principal.userId, principal.sessionId, id, who);
    if (!removed) throw new AppException(ErrorCode.NotFound);
    return ok(MFA_MESSAGES.factorRemoved, removed);
  }
}
