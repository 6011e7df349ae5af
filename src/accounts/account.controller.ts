import { Body, Controller, Delete, HttpCode, HttpStatus, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Requester } from '../audit/audit.repository.js';
import { AUTH_MESSAGES } from '../auth/auth.messages.js';
import type { Env } from '../config/env.validation.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { clearRefreshCookie } from '../auth/refresh-cookie.js';
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
  private readonly cookieMode: boolean;

  constructor(
    private readonly deletion: AccountDeletionService,
    config: ConfigService<Env, true>,
  ) {
    this.cookieMode = config.get('REFRESH_TOKEN_COOKIE', { infer: true });
  }

  @Delete()
  @RateLimit('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Delete your account, with your password',
    description:
      'Every session ends (`account_deleted`); the email is free again; nothing of the account stays ' +
      'but its audit rows. A wrong password: 401 `Credenciales inválidas`, counted by the login rate limit.',
  })
  @ApiSuccess(200, AUTH_MESSAGES.accountDeleted)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.InvalidCredentials, ErrorCode.TokenExpired, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async deleteAccount(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: DeleteAccountDto,
    @CurrentRequester() who: Requester,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.deletion.delete(principal.userId, dto.password, who);
    reply.header('clear-site-data', '"cookies", "storage"');
    if (this.cookieMode) clearRefreshCookie(reply);
    return ok(AUTH_MESSAGES.accountDeleted);
  }
}
