import { Injectable } from '@nestjs/common';
import { AuthConfig } from '../auth/auth.config.js';
import { type SessionTokens, SignInService } from '../auth/sign-in.service.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { PasskeysService } from '../factors/passkeys.service.js';
import type { Requester } from '../http/requester.js';

/** A passwordless sign-in ends, as every way in, in SignInService. */
@Injectable()
export class PasskeyLoginService {
  private readonly requireVerifiedEmail: boolean;

  constructor(
    private readonly passkeys: PasskeysService,
    private readonly signIn: SignInService,
    config: AuthConfig,
  ) {
    this.requireVerifiedEmail = config.REQUIRE_EMAIL_VERIFICATION;
  }

  async login(credential: unknown, who: Requester): Promise<SessionTokens> {
    const proved = await this.passkeys.verifyLogin(credential, who);
    if (this.requireVerifiedEmail && !proved.emailVerified) throw new AppException(ErrorCode.EmailNotVerified);
    // The authenticator's verification (PIN, biometrics) is the second factor: RFC 8176 `hwk` and `user`.
    return this.signIn.signIn({ id: proved.userId, sessionEpoch: proved.sessionEpoch, email: proved.email, amr: ['hwk', 'user'] }, who);
  }
}
