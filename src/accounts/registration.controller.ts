import { Body, Controller, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AUTH_MESSAGES } from '../auth/auth.messages.js';
import { RegisteredUserDto } from '../auth/dto/account.dto.js';
import { RegisterDto } from '../auth/dto/credentials.dto.js';
import { Public } from '../auth/public.decorator.js';
import { ErrorCode } from '../errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import type { Requester } from '../http/requester.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { RegistrationService } from './registration.service.js';

// Under /auth with the `auth` tag, where clients have always found it.
@ApiTags('auth')
@Controller('auth')
export class RegistrationController {
  constructor(private readonly registration: RegistrationService) {}

  @Public()
  @RateLimit('account')
  @Post('register')
  @ApiOperation({ summary: 'Create an account', description: 'Rate limited per client address (THROTTLE_LOGIN_LIMIT per THROTTLE_LOGIN_TTL).' })
  @ApiSuccess(201, AUTH_MESSAGES.registered, RegisteredUserDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.EmailTaken, ErrorCode.PayloadTooLarge, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async register(@Body() dto: RegisterDto, @CurrentRequester() who: Requester) {
    return ok(AUTH_MESSAGES.registered, await this.registration.register(dto.email, dto.password, who));
  }
}
