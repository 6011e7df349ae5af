import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import type { Env } from '../config/env.validation.js';
import { AccessTokenService, jwtVerifyOptions } from './access-token.service.js';
import { bearerToken } from './bearer-token.js';
import type { Principal } from './principal.js';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: ConfigService<Env, true>,
    private readonly tokens: AccessTokenService,
  ) {
    const { ignoreExpiration, algorithms, issuer, audience, clockTolerance } = jwtVerifyOptions(config);
    super({
      jwtFromRequest: bearerToken,
      secretOrKey: config.get('JWT_SECRET', { infer: true })!,
      algorithms,
      issuer,
      audience,
      ignoreExpiration,
      jsonWebTokenOptions: { clockTolerance },
    });
  }

  validate(payload: unknown): Promise<Principal> {
    return this.tokens.authenticate(payload);
  }
}
