import 'reflect-metadata';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { applyDecorators } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

/** One trusted proxy as Express names it: an IPv4/IPv6 address or CIDR range, or a named range. */
const PROXY = '(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(/\\d{1,3})?)';

const PLACEHOLDER_SECRETS = ['secret', 'changeme', 'change-me', 'your-secret', 'jwt-secret'];

/** A rate limit's count of requests per window. */
const RequestLimit = () => applyDecorators(IsInt(), Min(1), Max(1_000_000));
/** A rate limit's window, in seconds. */
const WindowSeconds = () => applyDecorators(IsInt(), Min(1), Max(86_400, { message: 'must be at most 86400 (a day)' }));

export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsString()
  PGLITE_DATA_DIR: string = './.data/pglite';

  /** Connections of this instance to DATABASE_URL (the embedded database serves one). */
  @IsInt()
  @Min(1)
  @Max(1000)
  DATABASE_POOL_SIZE: number = 10;

  /** false: `npm run migrate` applies migrations, and the server refuses to start while any is pending. */
  @IsBoolean({ message: 'must be true or false' })
  MIGRATIONS_AT_START: boolean = true;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string;

  /** HS256 (JWT_SECRET signs) or EdDSA (JWT_PRIVATE_KEY signs, the JWKS publishes its public key). */
  @IsIn(['HS256', 'EdDSA'], { message: 'must be HS256 or EdDSA' })
  JWT_ALGORITHM: 'HS256' | 'EdDSA' = 'HS256';

  /** An Ed25519 private key (PEM) for EdDSA; checked in validateEnv. */
  @IsOptional()
  @IsString()
  JWT_PRIVATE_KEY?: string;

  /** Ed25519 public keys (PEM, one after the other) of keys that signed before: tokens they signed still verify. */
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

  @RequestLimit()
  THROTTLE_LOGOUT_LIMIT: number = 10;

  @WindowSeconds()
  THROTTLE_LOGOUT_TTL: number = 60;

  @RequestLimit()
  THROTTLE_LOGIN_LIMIT: number = 5;

  @WindowSeconds()
  THROTTLE_LOGIN_TTL: number = 60;

  /** Refreshes per client address and session (the one the refresh token names). */
  @RequestLimit()
  THROTTLE_REFRESH_LIMIT: number = 60;

  @WindowSeconds()
  THROTTLE_REFRESH_TTL: number = 60;

  /** Password-reset mails per recipient, whoever asks (forgot is also limited per client address). */
  @RequestLimit()
  THROTTLE_FORGOT_RECIPIENT_LIMIT: number = 3;

  @WindowSeconds()
  THROTTLE_FORGOT_RECIPIENT_TTL: number = 900;

  /** Failed client authentications (introspection, events) per client address. */
  @RequestLimit()
  THROTTLE_INTROSPECTION_FAILURE_LIMIT: number = 10;

  @WindowSeconds()
  THROTTLE_INTROSPECTION_FAILURE_TTL: number = 60;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  // Express's forms: a hop count, true/false, or addresses, CIDR ranges and the names
  // loopback / linklocal / uniquelocal, comma-separated.
  @Matches(new RegExp(`^(true|false|\\d+|${PROXY}(\\s*,\\s*${PROXY})*)$`), {
    message: 'must be a number of proxies, true/false, or a comma-separated list of addresses',
  })
  TRUST_PROXY?: string;

  @IsInt()
  @Min(60)
  @Max(31_536_000, { message: 'must be at most 31536000 (a year)' })
  SESSION_IDLE_TTL: number = 604_800;

  @IsInt()
  @Min(60)
  @Max(31_536_000, { message: 'must be at most 31536000 (a year)' })
  SESSION_MAX_TTL: number = 2_592_000;

  @IsInt()
  @Min(0)
  @Max(3650)
  SESSION_RETENTION_DAYS: number = 30;

  @IsInt()
  @Min(0)
  @Max(300, { message: 'must be at most 300 (five minutes)' })
  REFRESH_REUSE_GRACE: number = 10;

  @IsBoolean({ message: 'must be true or false' })
  REFRESH_TOKEN_COOKIE: boolean = false;

  /** true: a logout of the caller's own session also sends Clear-Site-Data "cookies", which reaches sibling subdomains. */
  @IsBoolean({ message: 'must be true or false' })
  LOGOUT_CLEAR_SITE_COOKIES: boolean = false;

  /** smtp:// or smtps://; unset outside production: mail is written to the log. */
  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  @IsString()
  MAIL_FROM: string = 'Auth <no-reply@localhost>';

  /** The page of the app that takes `?token=` and asks for the new password. */
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an http(s) URL' })
  PASSWORD_RESET_URL: string = 'http://localhost:3000/reset-password';

  @IsInt()
  @Min(60)
  @Max(86_400)
  PASSWORD_RESET_TTL: number = 1800;

  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'must be an http(s) URL' })
  EMAIL_VERIFICATION_URL: string = 'http://localhost:3000/verify-email';

  @IsInt()
  @Min(60)
  @Max(2_592_000)
  EMAIL_VERIFICATION_TTL: number = 86_400;

  /** true: a login with the right password on an unverified account answers 403. */
  @IsBoolean({ message: 'must be true or false' })
  REQUIRE_EMAIL_VERIFICATION: boolean = false;

  /** The operator API's own port; unset: no operator API. Never PORT. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65_535)
  ADMIN_PORT?: number;

  /** Comma-separated secrets of 32+ characters, sent as Bearer to the operator API. */
  @IsOptional()
  @IsString()
  ADMIN_TOKENS?: string;

  /** `id:secret,...`: the services that may introspect tokens and read the session events (HTTP Basic). */
  @IsOptional()
  @IsString()
  INTROSPECTION_CLIENTS?: string;

  /** `url|whsec_secret,...`: where session events are posted (Standard Webhooks). */
  @IsOptional()
  @IsString()
  WEBHOOK_ENDPOINTS?: string;

  /** Seconds an endpoint has to answer a delivery; past it the attempt fails and is retried. */
  @IsInt()
  @Min(1)
  @Max(60)
  WEBHOOK_TIMEOUT: number = 10;

  /** How long delivered and dead webhook deliveries, and session events, are kept. */
  @IsInt()
  @Min(1)
  @Max(3650)
  WEBHOOK_RETENTION_DAYS: number = 30;

  /** Exact origins, comma-separated; checked in validateEnv (a wildcard is refused). */
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /** Prometheus metrics, served on METRICS_PORT only: never on the public port. */
  @IsBoolean({ message: 'must be true or false' })
  METRICS_ENABLED: boolean = false;

  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT: number = 9464;

  /**
   * Seconds between a stop signal and closing the listener, during which the instance still
   * serves but answers not ready: time for a load balancer to stop sending it new connections.
   */
  @IsInt()
  @Min(0)
  @Max(120, { message: 'must be at most 120 (two minutes)' })
  SHUTDOWN_DELAY_SECONDS: number = 0;

  /** Not a variable: set by validateEnv when it made JWT_SECRET up, so main.ts can warn. */
  jwtSecretGenerated = false;

  /** Not a variable: set by validateEnv when it generated the EdDSA key, so main.ts can warn. */
  jwtPrivateKeyGenerated = false;
}

export type Env = EnvironmentVariables;

const BOOLEANS = ['REFRESH_TOKEN_COOKIE', 'LOGOUT_CLEAR_SITE_COOKIES', 'METRICS_ENABLED', 'MIGRATIONS_AT_START', 'REQUIRE_EMAIL_VERIFICATION'];

/** ADMIN_TOKENS as a list; with ADMIN_PORT set there must be one, each of 32+ characters. */
export function adminTokensOf(env: Pick<Env, 'ADMIN_PORT' | 'ADMIN_TOKENS'>): string[] {
  const tokens = (env.ADMIN_TOKENS ?? '').split(',').map((token) => token.trim()).filter(Boolean);
  if (env.ADMIN_PORT !== undefined && tokens.length === 0) throw new Error('Invalid configuration: ADMIN_TOKENS is required with ADMIN_PORT');
  if (tokens.some((token) => token.length < 32)) throw new Error('Invalid configuration: ADMIN_TOKENS must each be at least 32 characters');
  return tokens;
}

/** An introspection client: what it sends as HTTP Basic. */
export interface IntrospectionClient {
  id: string;
  secret: string;
}

/** INTROSPECTION_CLIENTS as a list: `id:secret` pairs, the id without `:`, the secret of 32+ characters. */
export function introspectionClientsOf(env: Pick<Env, 'INTROSPECTION_CLIENTS'>): IntrospectionClient[] {
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
}

/** A webhook endpoint: where to post, and the Standard Webhooks secret that signs for it. */
export interface WebhookEndpoint {
  url: string;
  secret: string;
}

/** WEBHOOK_ENDPOINTS as a list: `url|whsec_...` pairs, an http(s) URL and a base64 secret. */
export function webhookEndpointsOf(env: Pick<Env, 'WEBHOOK_ENDPOINTS'>): WebhookEndpoint[] {
  const pairs = (env.WEBHOOK_ENDPOINTS ?? '').split(',').map((pair) => pair.trim()).filter(Boolean);
  const endpoints = pairs.map((pair) => {
    const [url = '', secret = '', ...rest] = pair.split('|').map((part) => part.trim());
    let httpUrl = false;
    try {
      httpUrl = /^https?:$/.test(new URL(url).protocol);
    } catch {
      httpUrl = false;
    }
    if (!httpUrl || rest.length > 0 || !/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) {
      throw new Error('Invalid configuration: WEBHOOK_ENDPOINTS must be url|whsec_<base64 secret> pairs, comma-separated');
    }
    return { url, secret };
  });
  if (new Set(endpoints.map((e) => e.url)).size !== endpoints.length) throw new Error('Invalid configuration: WEBHOOK_ENDPOINTS lists a URL twice');
  return endpoints;
}

/** The EdDSA keys: the one that signs, and the public keys of those that signed before. */
export interface SigningKeys {
  privateKey: KeyObject;
  previousPublicKeys: KeyObject[];
}

/** PEM as an env variable often carries it: `\n` for each line break. */
const pem = (value: string) => value.replace(/\\n/g, '\n').trim();

/** JWT_PRIVATE_KEY and JWT_PREVIOUS_PUBLIC_KEYS as keys; every one must be Ed25519. */
export function signingKeysOf(env: Pick<Env, 'JWT_PRIVATE_KEY' | 'JWT_PREVIOUS_PUBLIC_KEYS'>): SigningKeys {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem(env.JWT_PRIVATE_KEY ?? ''));
  } catch {
    throw new Error('Invalid configuration: JWT_PRIVATE_KEY must be an Ed25519 private key in PEM');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('Invalid configuration: JWT_PRIVATE_KEY must be an Ed25519 private key in PEM');
  const blocks = pem(env.JWT_PREVIOUS_PUBLIC_KEYS ?? '').match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  const rest = pem(env.JWT_PREVIOUS_PUBLIC_KEYS ?? '').replace(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g, '').trim();
  const previousPublicKeys = blocks.map((block) => {
    try {
      const key = createPublicKey(block);
      if (key.asymmetricKeyType === 'ed25519') return key;
    } catch {
      // Reported below.
    }
    throw new Error('Invalid configuration: JWT_PREVIOUS_PUBLIC_KEYS must be Ed25519 public keys in PEM');
  });
  if (rest) throw new Error('Invalid configuration: JWT_PREVIOUS_PUBLIC_KEYS must be Ed25519 public keys in PEM');
  return { privateKey, previousPublicKeys };
}

/**
 * CORS_ORIGINS as a list of exact origins (scheme, host, optional port; no path, no wildcard):
 * credentials are allowed, so a wildcard would hand every site the user's session.
 */
export function corsOriginsOf(env: Pick<Env, 'CORS_ORIGINS'>): string[] {
  const origins = (env.CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    let exact = false;
    try {
      exact = /^https?:\/\/[^/*\s]+$/.test(origin) && new URL(origin).origin === origin;
    } catch {
      exact = false;
    }
    if (!exact) {
      throw new Error(`Invalid configuration: CORS_ORIGINS must list exact origins such as https://app.example.com (no wildcard, no path): ${JSON.stringify(origin)}`);
    }
  }
  return origins;
}

/**
 * Validates the environment once at boot. Throws an Error whose message is one line naming the
 * offending variable, which main.ts prints as is.
 */
export function validateEnv(raw: Record<string, unknown>, { signsTokens = true } = {}): EnvironmentVariables {
  // Blank values (`FOO=` in .env) mean unset, so defaults apply. They must go before conversion,
  // which would turn '' into 0, and before defaults, which only fill in missing keys.
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => !(typeof value === 'string' && value.trim() === '')),
  );
  for (const name of BOOLEANS) {
    const value = present[name];
    if (value === undefined || typeof value === 'boolean') continue;
    // Implicit conversion would turn any string, 'false' and '0' included, into true.
    if (!/^(true|false)$/i.test(String(value).trim())) throw new Error(`Invalid configuration: ${name} must be true or false`);
    present[name] = String(value).trim().toLowerCase() === 'true';
  }
  const env = plainToInstance(EnvironmentVariables, present, {
    enableImplicitConversion: true,
    exposeDefaultValues: true,
  });
  const [first] = validateSync(env, { skipMissingProperties: false });
  if (first) {
    // A wrong type explains itself better than the range it then also fails.
    const constraints = first.constraints ?? {};
    const reason = constraints.isInt ?? Object.values(constraints)[0] ?? 'is invalid';
    throw new Error(`Invalid configuration: ${first.property} ${stripProperty(reason, first.property)}`);
  }

  // The migrate command signs nothing: its job needs the database and no secret.
  if (env.NODE_ENV === 'production' && signsTokens) {
    if (!env.JWT_SECRET) {
      throw new Error('Invalid configuration: JWT_SECRET is required (32+ characters) when NODE_ENV=production');
    }
    if (PLACEHOLDER_SECRETS.some((p) => env.JWT_SECRET!.toLowerCase().includes(p))) {
      throw new Error('Invalid configuration: JWT_SECRET looks like a placeholder; set a random secret');
    }
    // Without mail no one could ever log in: that feature cannot start without SMTP_URL. Others
    // (reset and verification links) start, and their mail waits in the outbox until it can leave.
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
  return env;
}

function stripProperty(message: string, property: string): string {
  return message.startsWith(property) ? message.slice(property.length).trimStart() : message;
}
