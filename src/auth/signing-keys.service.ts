import { createPublicKey, createSecretKey, type KeyObject, randomUUID } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { calculateJwkThumbprint, exportJWK, type JWK, SignJWT } from 'jose';
import { AuthConfig, signingKeysOf } from './auth.config.js';
import { verifyEdDsa } from './eddsa.js';
import { verifyHs256 } from './hs256.js';
import type { ClaimsOptions } from './jws.js';
import { VerifiedTokens } from './verified-tokens.js';

export interface Jwks {
  keys: JWK[];
}

// Built once: as a string, jsonwebtoken would parse it as a PEM on every use.
export const hs256KeyOf = (config: AuthConfig): KeyObject => createSecretKey(Buffer.from(config.JWT_SECRET!, 'utf8'));

// One algorithm (JWT_ALGORITHM): a token of the other, or naming no known key, never verifies.
@Injectable()
export class SigningKeysService implements OnModuleInit {
  readonly algorithm: AuthConfig['JWT_ALGORITHM'];
  private readonly claims: ClaimsOptions;
  private readonly hs256Key: KeyObject | undefined;
  private readonly privateKey: KeyObject | undefined;
  private readonly publicKeys: KeyObject[] = [];
  /** Filled at init: thumbprints are computed asynchronously. */
  private readonly verifying = new Map<string, KeyObject>();
  private currentKid = '';
  private jwks: Jwks = { keys: [] };
  // Keys never change while the process runs, so a verified token stays verified (an nbf passed stays passed).
  private readonly verified = new VerifiedTokens();

  constructor(
    private readonly jwt: JwtService,
    config: AuthConfig,
  ) {
    this.algorithm = config.JWT_ALGORITHM;
    this.claims = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };
    if (this.algorithm === 'HS256') {
      this.hs256Key = hs256KeyOf(config);
    } else {
      const { privateKey, previousPublicKeys } = signingKeysOf(config);
      this.privateKey = privateKey;
      this.publicKeys = [createPublicKey(privateKey), ...previousPublicKeys];
    }
  }

  async onModuleInit(): Promise<void> {
    const keys: JWK[] = [];
    for (const key of this.publicKeys) {
      const jwk = await exportJWK(key);
      const kid = await calculateJwkThumbprint(jwk, 'sha256');
      if (this.verifying.has(kid)) continue;
      this.verifying.set(kid, key);
      keys.push({ ...jwk, kid, alg: 'EdDSA', use: 'sig' });
    }
    this.currentKid = keys[0]?.kid ?? '';
    this.jwks = { keys };
  }

  publicJwks(): Jwks {
    return this.jwks;
  }

  sign(claims: { sid: string; exp: number }, subject: string): Promise<string> {
    if (this.algorithm === 'HS256') return this.jwt.signAsync(claims, { subject, jwtid: randomUUID() });
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: this.currentKid })
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt()
      .setIssuer(this.claims.issuer)
      .setAudience(this.claims.audience)
      .sign(this.privateKey!);
  }

  /** Expiry is the caller's. */
  verify(token: string): Readonly<Record<string, unknown>> | null {
    const known = this.verified.get(token);
    if (known) return known;
    const claims = this.algorithm === 'HS256' ? verifyHs256(token, this.hs256Key!, this.claims) : verifyEdDsa(token, this.verifying, this.claims);
    return claims && this.verified.remember(token, claims);
  }
}
