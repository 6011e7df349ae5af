import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService, type JwtVerifyOptions } from '@nestjs/jwt';
import { AppException } from '../common/app.exception.js';
import { ErrorCode } from '../common/error-code.js';
import type { Env } from '../config/env.validation.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { MAX_TOKEN_LENGTH } from './bearer-token.js';
import type { Principal } from './principal.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Signature, algorithm, issuer, audience and `nbf` are checked by jsonwebtoken. Expiry is checked
 * afterwards, in `authenticate`, so that a token failing any of those answers 401 even when it
 * has also expired (the contract's order: claims, then expiry, then session).
 */
export function jwtVerifyOptions(config: ConfigService<Env, true>) {
  return {
    algorithms: ['HS256' as const],
    issuer: config.get('JWT_ISSUER', { infer: true }),
    audience: config.get('JWT_AUDIENCE', { infer: true }),
    ignoreExpiration: true,
    clockTolerance: 0,
  };
}

const invalidToken = () => new AppException(ErrorCode.InvalidToken);

@Injectable()
export class AccessTokenService {
  private readonly verifyOptions: JwtVerifyOptions;
  private readonly ttlSeconds: number;

  constructor(
    private readonly jwt: JwtService,
    private readonly sessions: SessionsService,
    config: ConfigService<Env, true>,
  ) {
    this.verifyOptions = jwtVerifyOptions(config);
    this.ttlSeconds = config.get('JWT_ACCESS_TTL', { infer: true });
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }

  /** When a session opened now ends: whole seconds, so the token's `exp` is the same instant. */
  expiryFromNow(): Date {
    return new Date((Math.floor(Date.now() / 1000) + this.ttlSeconds) * 1000);
  }

  sign(principal: Principal, expiresAt: Date): Promise<string> {
    return this.jwt.signAsync(
      { sid: principal.sessionId, exp: expiresAt.getTime() / 1000 },
      { subject: principal.userId, jwtid: randomUUID() },
    );
  }

  /** Checks a token given anywhere but the Authorization header exactly as the guard checks that one. */
  async verify(token: unknown): Promise<Principal> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidToken();
    let payload: unknown;
    try {
      payload = await this.jwt.verifyAsync(token, this.verifyOptions);
    } catch {
      throw invalidToken();
    }
    return this.authenticate(payload);
  }

  /** Claims, then expiry (403), then the session row (401). A database fault propagates (500). */
  async authenticate(payload: unknown): Promise<Principal> {
    const { sub, sid, exp } = (payload ?? {}) as Record<string, unknown>;
    if (typeof sub !== 'string' || !UUID.test(sub) || typeof sid !== 'string' || !UUID.test(sid)) {
      throw invalidToken();
    }
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalidToken();
    if (Date.now() / 1000 >= exp) throw new AppException(ErrorCode.TokenExpired);
    // UUIDs are case-insensitive; one spelling keeps comparisons between principals honest.
    const principal = { userId: sub.toLowerCase(), sessionId: sid.toLowerCase() };
    if (!(await this.sessions.isActive(principal.sessionId, principal.userId))) throw invalidToken();
    return principal;
  }
}
