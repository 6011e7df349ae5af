import { Body, Controller, Delete, HttpCode, HttpStatus, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Requester } from '../http/requester.js';
import { AUTH_MESSAGES } from '../auth/auth.messages.js';
import { AuthConfig } from '../auth/auth.config.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { SIGN_OUT_HEADERS, signOutOf } from '../auth/sign-out.js';
import { StepUp } from '../auth/step-up.decorator.js';
import { ErrorCode } from '../errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { AccountDeletionService } from './account-deletion.service.js';
import { DeleteAccountDto } from './dto/accounts.dto.js';

@ApiTags('accounts')
@ApiBearerAuth()
@Controller('auth/account')
export class AccountController {
  private readonly signOut: (reply: FastifyReply) => void;

  constructor(
    private readonly deletion: AccountDeletionService,
    config: AuthConfig,
  ) {
    this.signOut = signOutOf(config);
  }

  @Delete()
  // A user with factors proves one first (POST /auth/step-up): a stolen access token alone must not change how the account is protected.
  @StepUp({ onlyWithFactors: true })
  @RateLimit('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Delete your account, with your password',
    description:
      'Every session ends (`account_deleted`); the email is free again; nothing of the account stays ' +
      'but its audit rows. A wrong password: 401 `Credenciales inválidas`, counted by the login rate limit.',
  })
  @ApiSuccess(200, AUTH_MESSAGES.accountDeleted, undefined, { headers: SIGN_OUT_HEADERS })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.InvalidCredentials, ErrorCode.TokenExpired, ErrorCode.StepUpRequired, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async deleteAccount(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: DeleteAccountDto,
    @CurrentRequester() who: Requester,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.deletion.delete(principal.userId, dto.password, who);
    this.signOut(reply);
    return ok(AUTH_MESSAGES.accountDeleted);
  }
}
