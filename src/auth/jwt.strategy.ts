import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { AccessTokenService } from './access-token.service.js';
import { bearerToken } from './bearer-token.js';
import type { Principal } from './principal.js';

/** The Authorization header's token, verified with the key and options of AccessTokenService. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly tokens: AccessTokenService) {
    const { algorithms, issuer, audience, ignoreExpiration, clockTolerance } = tokens.verifyOptions;
    super({
      jwtFromRequest: bearerToken,
      // jsonwebtoken takes a KeyObject, which passport-jwt's types do not list.
      secretOrKey: tokens.key as unknown as Buffer,
      algorithms,
      issuer: issuer as string,
      audience: audience as string,
      ignoreExpiration,
      jsonWebTokenOptions: { clockTolerance },
    });
  }

  validate(payload: unknown): Promise<Principal> {
    return this.tokens.authenticate(payload);
  }
}
