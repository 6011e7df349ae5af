import 'reflect-metadata';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';
import { parsedOnce } from '../config/parsed-once.js';

export class AuthConfig {
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsIn(['HS256', 'EdDSA'], { message: 'must be HS256 or EdDSA' })
  JWT_ALGORITHM: 'HS256' | 'EdDSA' = 'HS256';

  @IsOptional()
  @IsString()
  JWT_PRIVATE_KEY?: string;

  /** Keys that signed before: the tokens they signed still verify. */
  @IsOptional()
  @IsString()
  JWT_PREVIOUS_PUBLIC_KEYS?: string;

  @IsInt()
  @Min(1)
  @Max(31_536_000, { message: 'must be at most 31536000 (a year)' })
  JWT_ACCESS_TTL: number = 900;

  @IsString()
  JWT_ISSUER: string = 'auth-backend';

  @IsString()
  JWT_AUDIENCE: string = 'auth-backend-clients';

  @IsBoolean({ message: 'must be true or false' })
  REFRESH_TOKEN_COOKIE: boolean = false;

  /** Clear-Site-Data "cookies" reaches sibling subdomains, so it is opt-in. */
  @IsBoolean({ message: 'must be true or false' })
  LOGOUT_CLEAR_SITE_COOKIES: boolean = false;

  @IsBoolean({ message: 'must be true or false' })
  REQUIRE_EMAIL_VERIFICATION: boolean = false;

  @IsOptional()
  @IsString()
  INTROSPECTION_CLIENTS?: string;
}

export interface IntrospectionClient {
  id: string;
  secret: string;
}

export const introspectionClientsOf = parsedOnce((env: Pick<AuthConfig, 'INTROSPECTION_CLIENTS'>): IntrospectionClient[] => {
  const pairs = (env.INTROSPECTION_CLIENTS ?? '').split(',').map((pair) => pair.trim()).filter(Boolean);
  return pairs.map((pair) => {
    const colon = pair.indexOf(':');
    if (colon <= 0 || colon === pair.length - 1) throw new Error('Invalid configuration: INTROSPECTION_CLIENTS must be id:secret pairs, comma-separated');
    const client = { id: pair.slice(0, colon), secret: pair.slice(colon + 1) };
    // A short secret is found by guessing (a 3-letter one took seconds over HTTP), limit or not.
    if (client.secret.length < 32) {
      throw new Error(`Invalid configuration: INTROSPECTION_CLIENTS secret of client ${JSON.stringify(client.id)} must be at least 32 characters`);
    }
    return client;
  });
});

export interface SigningKeys {
  privateKey: KeyObject;
  previousPublicKeys: KeyObject[];
}

/** PEM as an env variable often carries it: `\n` for each line break. */
const pem = (value: string) => value.replace(/\\n/g, '\n').trim();
const PUBLIC_KEY_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

export const signingKeysOf = parsedOnce((env: Pick<AuthConfig, 'JWT_PRIVATE_KEY' | 'JWT_PREVIOUS_PUBLIC_KEYS'>): SigningKeys => {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem(env.JWT_PRIVATE_KEY ?? ''));
  } catch {
    throw new Error('Invalid configuration: JWT_PRIVATE_KEY must be an Ed25519 private key in PEM');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('Invalid configuration: JWT_PRIVATE_KEY must be an Ed25519 private key in PEM');
  const previous = pem(env.JWT_PREVIOUS_PUBLIC_KEYS ?? '');
  const previousPublicKeys = (previous.match(PUBLIC_KEY_BLOCK) ?? []).map((block) => {
    try {
      const key = createPublicKey(block);
      if (key.asymmetricKeyType === 'ed25519') return key;
    } catch {
      // Reported below.
    }
    throw new Error('Invalid configuration: JWT_PREVIOUS_PUBLIC_KEYS must be Ed25519 public keys in PEM');
  });
  if (previous.replace(PUBLIC_KEY_BLOCK, '').trim()) throw new Error('Invalid configuration: JWT_PREVIOUS_PUBLIC_KEYS must be Ed25519 public keys in PEM');
  return { privateKey, previousPublicKeys };
});
