import 'reflect-metadata';
import { generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { AccountsConfig } from '../accounts/accounts.config.js';
import { AdminConfig, adminTokensOf } from '../admin/admin.config.js';
import { AuthConfig, introspectionClientsOf, signingKeysOf } from '../auth/auth.config.js';
import { DatabaseConfig } from '../database/database.config.js';
import { encryptionKeysOf, FactorsConfig, webauthnOriginsOf } from '../factors/factors.config.js';
import { MailConfig } from '../mail/mail.config.js';
import { MetricsConfig } from '../metrics/metrics.config.js';
import { RateLimitConfig } from '../rate-limit/rate-limit.config.js';
import { SessionsConfig } from '../sessions/sessions.config.js';
import { WebhooksConfig, webhookEndpointsOf } from '../webhooks/webhooks.config.js';
import { AppConfig, corsOriginsOf } from './app.config.js';

/** Each feature declares and validates its own variables; the environment is all of them. */
export const FEATURE_CONFIGS = [
  AppConfig,
  DatabaseConfig,
  AuthConfig,
  RateLimitConfig,
  SessionsConfig,
  MailConfig,
  AccountsConfig,
  AdminConfig,
  WebhooksConfig,
  MetricsConfig,
  FactorsConfig,
] as const;

export type Env = AppConfig &
  DatabaseConfig &
  AuthConfig &
  RateLimitConfig &
  SessionsConfig &
  MailConfig &
  AccountsConfig &
  AdminConfig &
  WebhooksConfig &
  MetricsConfig &
  FactorsConfig & {
    jwtSecretGenerated: boolean;
    jwtPrivateKeyGenerated: boolean;
    mfaKeyGenerated: boolean;
  };

const PLACEHOLDER_SECRETS = ['secret', 'changeme', 'change-me', 'your-secret', 'jwt-secret'];

/** Throws one line naming the offending variable, which main.ts prints as is. */
export function validateEnv(raw: Record<string, unknown>, { signsTokens = true } = {}): Env {
  // Blank values (`FOO=` in .env) mean unset: dropped before conversion would turn '' into 0.
  const present = Object.fromEntries(Object.entries(raw).filter(([, value]) => !(typeof value === 'string' && value.trim() === '')));
  // Undeclared variables stay, as given: an application's own modules may read theirs.
  const env = Object.assign({ jwtSecretGenerated: false, jwtPrivateKeyGenerated: false, mfaKeyGenerated: false }, present, ...FEATURE_CONFIGS.map((config) => parse(config as new () => object, present))) as Env;

  // The migrate command signs nothing: its job needs the database and no secret.
  if (env.NODE_ENV === 'production' && signsTokens) {
    if (!env.JWT_SECRET) {
      throw new Error('Invalid configuration: JWT_SECRET is required (32+ characters) when NODE_ENV=production');
    }
    if (PLACEHOLDER_SECRETS.some((p) => env.JWT_SECRET!.toLowerCase().includes(p))) {
      throw new Error('Invalid configuration: JWT_SECRET looks like a placeholder; set a random secret');
    }
    // Without mail no one could ever log in; reset and verification mail just waits in the outbox.
    if (!env.SMTP_URL && env.REQUIRE_EMAIL_VERIFICATION) {
      throw new Error('Invalid configuration: SMTP_URL is required when NODE_ENV=production and REQUIRE_EMAIL_VERIFICATION=true');
    }
    if (env.JWT_ALGORITHM === 'EdDSA' && !env.JWT_PRIVATE_KEY) {
      throw new Error('Invalid configuration: JWT_PRIVATE_KEY is required (an Ed25519 key in PEM) when NODE_ENV=production and JWT_ALGORITHM=EdDSA');
    }
  }
  if (env.JWT_ALGORITHM === 'EdDSA' && signsTokens) {
    // Like JWT_SECRET: a key made up at start dies with the process.
    env.jwtPrivateKeyGenerated = !env.JWT_PRIVATE_KEY;
    env.JWT_PRIVATE_KEY ??= generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    signingKeysOf(env);
  }
  introspectionClientsOf(env);
  webhookEndpointsOf(env);
  corsOriginsOf(env);
  webauthnOriginsOf(env);
  adminTokensOf(env);
  if (env.ADMIN_PORT !== undefined && env.ADMIN_PORT === env.PORT && env.PORT !== 0) {
    throw new Error(`Invalid configuration: ADMIN_PORT must differ from PORT (${env.PORT}): the operator API is never served on the public port`);
  }
  // Port 0 is "any free port", so two zeros do not collide.
  if (env.METRICS_ENABLED && env.METRICS_PORT === env.PORT && env.PORT !== 0) {
    throw new Error(`Invalid configuration: METRICS_PORT must differ from PORT (${env.PORT}): metrics are never served on the public port`);
  }
  // Tokens then die with the process: fine for a first run, never for production (refused above).
  env.jwtSecretGenerated = !env.JWT_SECRET;
  env.JWT_SECRET ??= randomBytes(48).toString('base64url');
  // Outside production, derived from JWT_SECRET: instances that share it (as they must, to refresh) read each other's TOTP secrets.
  // In production it is never made up: without it the server runs, and TOTP answers 503 until it is set (main.ts warns).
  env.mfaKeyGenerated = !env.MFA_ENCRYPTION_KEY && env.NODE_ENV !== 'production';
  if (env.mfaKeyGenerated) env.MFA_ENCRYPTION_KEY = Buffer.from(hkdfSync('sha256', env.JWT_SECRET, '', 'auth-backend mfa-encryption-key', 32)).toString('base64');
  encryptionKeysOf(env);
  return env;
}

function parse<T extends object>(config: new () => T, present: Record<string, unknown>): T {
  const defaults = new config() as Record<string, unknown>;
  const names = [...new Set(getMetadataStorage().getTargetValidationMetadatas(config, '', true, false).map((m) => m.propertyName))];
  const own: Record<string, unknown> = {};
  for (const name of names) {
    const value = present[name];
    if (value === undefined) continue;
    // Implicit conversion would turn any string, 'false' and '0' included, into true.
    if (typeof defaults[name] === 'boolean' && typeof value !== 'boolean') {
      if (!/^(true|false)$/i.test(String(value).trim())) throw new Error(`Invalid configuration: ${name} must be true or false`);
      own[name] = String(value).trim().toLowerCase() === 'true';
    } else own[name] = value;
  }
  const values = plainToInstance(config, own, { enableImplicitConversion: true, exposeDefaultValues: true });
  const [first] = validateSync(values, { skipMissingProperties: false });
  if (first) {
    // A wrong type explains itself better than the range it then also fails.
    const constraints = first.constraints ?? {};
    const reason = constraints.isInt ?? Object.values(constraints)[0] ?? 'is invalid';
    const text = reason.startsWith(first.property) ? reason.slice(first.property.length).trimStart() : reason;
    throw new Error(`Invalid configuration: ${first.property} ${text}`);
  }
  return values;
}
