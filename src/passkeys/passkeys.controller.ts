import { Body, Controller, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AUTH_MESSAGES } from '../auth/auth.messages.js';
import { TokensDto } from '../auth/dto/tokens.dto.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { Public } from '../auth/public.decorator.js';
import { StepUp } from '../auth/step-up.decorator.js';
import { TokenAnswer } from '../auth/token-answer.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { PASSKEY_ERRORS, PasskeysService } from '../factors/passkeys.service.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import type { Requester } from '../http/requester.js';
import { CurrentRequester } from '../http/requester.decorator.js';
import { MFA_MESSAGES } from '../mfa/mfa.messages.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { PasskeyLoginDto, PasskeyOptionsDto, PasskeyRegisteredDto, RegisterPasskeyDto } from './dto/passkeys.dto.js';
import { PasskeyLoginService } from './passkey-login.service.js';

const DEFAULT_NAME = 'Llave de acceso';

@ApiTags('passkeys')
@Controller('auth/passkeys')
export class PasskeysController {
  constructor(
    private readonly passkeys: PasskeysService,
    private readonly logins: PasskeyLoginService,
    private readonly answer: TokenAnswer,
  ) {}

  @Post('register/options')
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @StepUp()
  @ApiOperation({
    summary: 'Creation options for a new passkey (navigator.credentials.create)',
    description:
      'Resident key required, user verification preferred, attestation `none`; `excludeCredentials` lists the ' +
      "user's passkeys. The challenge is single use, valid 300 s, bound to this user and this session.",
  })
  @ApiSuccess(200, MFA_MESSAGES.passkeyOptions, PasskeyOptionsDto)
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.StepUpRequired, ErrorCode.Internal)
  async passkeyRegisterOptions(@CurrentPrincipal() principal: Principal) {
    return ok(MFA_MESSAGES.passkeyOptions, await this.passkeys.registrationOptions(principal.userId, principal.sessionId, principal.email));
  }

  @Post('register')
  @RateLimit('login')
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @StepUp()
  @ApiOperation({
    summary: 'Register a passkey: a factor of type webauthn',
    description:
      'The attestation must answer a challenge this session was given. Every other session of the user ' +
      "ends (`mfa_enabled`); this session records `hwk` and is authenticated now. The user's first factor " +
      'also answers 10 recovery codes, shown once. A wrong origin or RP ID, a spent challenge, a malformed ' +
      'or already registered credential: 400 with the reason in `errors`.',
  })
  @ApiSuccess(200, MFA_MESSAGES.passkeyRegistered, PasskeyRegisteredDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.StepUpRequired, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async registerPasskey(@CurrentPrincipal() principal: Principal, @Body() dto: RegisterPasskeyDto, @CurrentRequester() who: Requester) {
    const registered = await this.passkeys.register(principal.userId, principal.sessionId, dto.credential, dto.name ?? DEFAULT_NAME, who);
    return ok(MFA_MESSAGES.passkeyRegistered, { factorId: registered.factorId, ...(registered.recoveryCodes && { recoveryCodes: registered.recoveryCodes }) });
  }

  @Post('step-up/options')
  @RateLimit('login')
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @ApiOperation({
    summary: "Request options for the user's own passkeys, to answer POST /auth/step-up { webauthn }",
    description:
      "`allowCredentials` lists the user's passkeys; the challenge is single use, valid 300 s, bound to this user " +
      "(a login's second step gets its options in the login's answer instead). A user without passkeys: 400.",
  })
  @ApiSuccess(200, MFA_MESSAGES.passkeyOptions, PasskeyOptionsDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.TokenExpired, ErrorCode.TooManyRequests, ErrorCode.Internal)
  async passkeyStepUpOptions(@CurrentPrincipal() principal: Principal) {
    const options = await this.passkeys.requestOptionsFor(principal.userId);
    if (!options) throw new AppException(ErrorCode.InvalidRequest, { errors: [PASSKEY_ERRORS.none] });
    return ok(MFA_MESSAGES.passkeyOptions, options);
  }

  @Public()
  @RateLimit('login')
  @Post('login/options')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Request options for a passwordless login (navigator.credentials.get)',
    description: 'Empty `allowCredentials`: the authenticator offers its discoverable passkeys. The challenge is single use, valid 300 s.',
  })
  @ApiSuccess(200, MFA_MESSAGES.passkeyOptions, PasskeyOptionsDto)
  @ApiErrors(ErrorCode.TooManyRequests, ErrorCode.Internal)
  async passkeyLoginOptions() {
    return ok(MFA_MESSAGES.passkeyOptions, await this.passkeys.loginOptions());
  }

  @Public()
  @RateLimit('login')
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Log in with a passkey, no password',
    description:
      'Answers exactly like a login; the session records `amr` `["hwk","user"]`. Only an assertion whose ' +
      'authenticator verified the user logs in (else 401). An unknown passkey, a bad signature, a signature ' +
      'counter gone back (unless the passkey is backed up and reports 0): 401. A wrong origin or RP ID, a ' +
      'spent or expired challenge, a malformed credential: 400 with the reason in `errors`.',
  })
  @ApiSuccess(200, AUTH_MESSAGES.loggedIn, TokensDto)
  @ApiErrors(
    ErrorCode.InvalidRequest,
    ErrorCode.InvalidCredentials,
    ErrorCode.AccountLocked,
    ErrorCode.EmailNotVerified,
    ErrorCode.PayloadTooLarge,
    ErrorCode.TooManyRequests,
    ErrorCode.Internal,
  )
  async passkeyLogin(@Body() dto: PasskeyLoginDto, @CurrentRequester() who: Requester, @Res({ passthrough: true }) reply: FastifyReply) {
    return ok(AUTH_MESSAGES.loggedIn, this.answer.send(await this.logins.login(dto.credential, who), reply));
  }
}
