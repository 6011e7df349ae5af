import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { AuthConfig } from './auth.config.js';
import { clearRefreshCookie, refreshCookieOf, setRefreshCookie } from './refresh-cookie.js';
import type { SessionTokens } from './sign-in.service.js';

/** Session tokens on the wire: all in the body, or (REFRESH_TOKEN_COOKIE) the refresh token as an HttpOnly cookie. */
@Injectable()
export class TokenAnswer {
  private readonly cookieMode: boolean;

  constructor(config: AuthConfig) {
    this.cookieMode = config.REFRESH_TOKEN_COOKIE;
  }

  send({ sessionEnds, refreshToken, ...tokens }: SessionTokens, reply: FastifyReply) {
    if (!this.cookieMode) return { ...tokens, refreshToken };
    setRefreshCookie(reply, refreshToken, sessionEnds);
    return tokens;
  }

  presented(bodyToken: unknown, request: FastifyRequest): unknown {
    if (!this.cookieMode) return bodyToken;
    // A cross-site form can send the cookie, but not a JSON body: one is required.
    if (request.body === undefined || !/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
      throw new AppException(ErrorCode.InvalidRequest, { errors: ['El cuerpo debe enviarse como application/json'] });
    }
    if (bodyToken !== undefined) {
      throw new AppException(ErrorCode.InvalidRequest, { errors: ['refreshToken viaja en la cookie, no en el cuerpo'] });
    }
    return refreshCookieOf(request);
  }

  refused(err: unknown, reply: FastifyReply): void {
    if (this.cookieMode && err instanceof AppException && err.code === ErrorCode.InvalidToken) clearRefreshCookie(reply);
  }
}
