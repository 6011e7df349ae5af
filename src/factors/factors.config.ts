import 'reflect-metadata';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { parsedOnce } from '../config/parsed-once.js';

const BASE64_32_BYTES = /^[A-Za-z0-9+/_-]{43}=?$/;

export class FactorsConfig {
  /** 32 bytes, base64: encrypts TOTP secrets at rest (AES-256-GCM). */
  @IsOptional()
  @Matches(BASE64_32_BYTES, { message: 'must be 32 bytes in base64 (openssl rand -base64 32)' })
  MFA_ENCRYPTION_KEY?: string;

  /** Keys that encrypted before, comma-separated: secrets under them still decrypt, and are re-encrypted under the current key when next used. */
  @IsOptional()
  @IsString()
  MFA_PREVIOUS_ENCRYPTION_KEYS?: string;

  @IsString()
  MFA_ISSUER: string = 'auth-backend';

  @IsInt()
  @Min(10)
  @Max(86_400)
  STEP_UP_MAX_AGE: number = 300;

  @IsString()
  WEBAUTHN_RP_ID: string = 'localhost';

  /** Comma-separated exact origins a passkey ceremony may come from. */
  @IsString()
  WEBAUTHN_ORIGINS: string = 'http://localhost:3000';
}

export interface EncryptionKeys {
  current: Buffer;
  previous: Buffer[];
}

const keyOf = (name: string, text: string): Buffer => {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`Invalid configuration: ${name} must be 32 bytes in base64 (openssl rand -base64 32)`);
  return key;
};

/** Null only in production without MFA_ENCRYPTION_KEY (validateEnv derives one elsewhere). */
export const encryptionKeysOf = parsedOnce((config: FactorsConfig): EncryptionKeys | null => config.MFA_ENCRYPTION_KEY === undefined ? null : ({
  current: keyOf('MFA_ENCRYPTION_KEY', config.MFA_ENCRYPTION_KEY),
  previous: (config.MFA_PREVIOUS_ENCRYPTION_KEYS ?? '')
    .split(',')
    .filter((k) => k.trim())
    .map((k) => keyOf('MFA_PREVIOUS_ENCRYPTION_KEYS', k)),
}));

export const webauthnOriginsOf = parsedOnce((config: FactorsConfig): string[] => {
  const origins = config.WEBAUTHN_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new Error(`Invalid configuration: WEBAUTHN_ORIGINS must list origins such as https://app.example.com (got ${origin})`);
    }
    if (url.origin !== origin) throw new Error(`Invalid configuration: WEBAUTHN_ORIGINS must list bare origins, no path or trailing slash (got ${origin})`);
  }
  if (!origins.length) throw new Error('Invalid configuration: WEBAUTHN_ORIGINS must list at least one origin');
  return origins;
});
