import { Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { StepUp } from '../auth/step-up.decorator.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { RecoveryCodesService } from '../factors/recovery-codes.service.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RecoveryCodesDto } from './dto/factors.dto.js';
import { MFA_MESSAGES } from './mfa.messages.js';

const NO_FACTOR = 'Los códigos de recuperación requieren un segundo factor activo';

@ApiTags('mfa')
@ApiBearerAuth()
@Controller('auth/mfa/recovery-codes')
export class RecoveryCodesController {
  constructor(private readonly recoveryCodes: RecoveryCodesService) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @StepUp()
  @ApiOperation({
    summary: 'Replace your recovery codes (step-up)',
    description: `10 new single-use codes, shown once; every old code stops working. A user without a second factor: 400 (\`${NO_FACTOR}\`).`,
  })
  @ApiSuccess(200, MFA_MESSAGES.recoveryCodesReplaced, RecoveryCodesDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.StepUpRequired, ErrorCode.Internal)
  async replaceRecoveryCodes(@CurrentPrincipal() principal: Principal, @CurrentRequester() who: Requester) {
    const recoveryCodes = await this.recoveryCodes.replace(principal.userId, principal.sessionId, who);
    if (!recoveryCodes) throw new AppException(ErrorCode.InvalidRequest, { errors: [NO_FACTOR] });
    return ok(MFA_MESSAGES.recoveryCodesReplaced, { recoveryCodes });
  }
}
