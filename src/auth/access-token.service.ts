import { Injectable } from '@nestjs/common';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { AuthConfig } from './auth.config.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { MAX_TOKEN_LENGTH } from './bearer-token.js';
import type { Principal } from './principal.js';
import { SigningKeysService } from './signing-keys.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const invalidToken = () => new AppException(ErrorCode.InvalidToken);

/** The one verification path: the bearer token (the global guard) and the logout body token alike. */
@Injectable()
export class AccessTokenService {
  readonly expiresIn: number;

  constructor(
    private readonly keys: SigningKeysService,
    private readonly sessions: SessionsService,
    config: AuthConfig,
  ) {
    this.expiresIn = config.JWT_ACCESS_TTL;
  }

  /** `expiresAt`: the expiry the session recorded for it (SessionPolicy.accessUntil, capped by the session). */
  async issue(principal: Pick<Principal, 'userId' | 'sessionId'>, expiresAt: Date): Promise<{ accessToken: string; expiresIn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = Math.floor(expiresAt.getTime() / 1000);
    return { accessToken: await this.sign(principal, new Date(exp * 1000)), expiresIn: Math.max(0, exp - now) };
  }

  sign(principal: Pick<Principal, 'userId' | 'sessionId'>, expiresAt: Date): Promise<string> {
    return this.keys.sign({ sid: principal.sessionId, exp: Math.floor(expiresAt.getTime() / 1000) }, principal.userId);
  }

  async verify(token: unknown): Promise<Principal> {
    return (await this.inspect(token)).principal;
  }

  async inspect(token: unknown): Promise<{ principal: Principal; claims: Record<string, unknown> }> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidToken();
    // Signature and claims first: a token failing them answers 401 even when it has also expired.
    const claims = this.keys.verify(token);
    if (!claims) throw invalidToken();
    return { principal: await this.authenticate(claims), claims };
  }

  /** A database fault propagates (500), never a pass. */
  async authenticate(payload: unknown): Promise<Principal> {
    const { sub, sid, exp } = (payload ?? {}) as Record<string, unknown>;
    if (typeof sub !== 'string' || !UUID.test(sub) || typeof sid !== 'string' || !UUID.test(sid)) {
      throw invalidToken();
    }
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalidToken();
    if (Date.now() / 1000 >= exp) throw new AppException(ErrorCode.TokenExpired);
    const session = await this.sessions.findLive(sid);
    // UUIDs are case-insensitive; the database spells them in lowercase.
    if (!session || session.userId !== sub.toLowerCase()) throw invalidToken();
    return { userId: session.userId, sessionId: session.id, email: session.email, roles: session.roles, amr: session.amr, authenticatedAt: session.authenticatedAt };
  }
}
