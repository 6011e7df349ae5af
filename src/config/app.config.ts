import 'reflect-metadata';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { parsedOnce } from './parsed-once.js';

const PROXY = '(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(/\\d{1,3})?)';

export class AppConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  @IsOptional()
  @Matches(new RegExp(`^(true|false|\\d+|${PROXY}(\\s*,\\s*${PROXY})*)$`), {
    message: 'must be a number of proxies, true/false, or a comma-separated list of addresses',
  })
  TRUST_PROXY?: string;

  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /** Time for a load balancer to stop sending new connections. */
  @IsInt()
  @Min(0)
  @Max(120, { message: 'must be at most 120 (two minutes)' })
  SHUTDOWN_DELAY_SECONDS: number = 0;
}

/** Credentials are allowed, so a wildcard or a prefix would hand every site the user's session. */
export const corsOriginsOf = parsedOnce((env: Pick<AppConfig, 'CORS_ORIGINS'>): string[] => {
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
});

/** Express's meaning as Fastify's `trustProxy`, which no longer takes a hop count itself. */
export const trustProxyOf = parsedOnce((env: Pick<AppConfig, 'TRUST_PROXY'>): boolean | string | ((address: string, hop: number) => boolean) => {
  const value = env.TRUST_PROXY?.trim();
  if (!value || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value;
});
