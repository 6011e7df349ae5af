import { type DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { ThrottlerModule } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { RateLimitGuard } from './common/rate-limit.guard.js';
import { RedisThrottlerStorage } from './common/redis-throttler.storage.js';
import { validationPipe } from './common/validation.pipe.js';
import type { Env } from './config/env.validation.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { normalizeEmail } from './users/users.service.js';

// Request logs carry no headers and no bodies (see the serializers below); these catch the same
// secrets if they ever turn up in a logged object, such as an error.
const REDACTED = ['*.authorization', '*.cookie', '*.password', '*.token', '*.accessToken', '*.refreshToken'];

/**
 * Login attempts are counted per client address and email (the contract's rule): it stops
 * guessing one account's password; it does not stop one address trying many accounts.
 */
function loginTracker(request: Record<string, unknown>): string {
  const { ip, body, headers } = request as unknown as FastifyRequest<{ Body: { email?: unknown } }>;
  if (typeof body?.email === 'string') return `${ip}|${normalizeEmail(body.email)}`;
  // The password change has no email: its attempts count per session, by the bearer's `sid`,
  // read unverified (a forged one never gets past the auth guard to try a password).
  return `${ip}|session:${unverifiedSid(headers.authorization)}`;
}

function unverifiedSid(authorization: string | undefined): string {
  try {
    const payload = JSON.parse(Buffer.from(authorization?.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload?.sid === 'string' ? payload.sid.slice(0, 64) : '';
  } catch {
    return '';
  }
}

/** Whether request lines (pino-http logs them at `info`) reach the output at this level. */
const logsRequests = (level: string): boolean => ['info', 'debug', 'trace'].includes(level);

@Module({})
export class AppModule {
  /** `env` is validated already (see config/load-env.ts); the same object configures everything. */
  static forRoot(env: Env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => ({ ...env })] }),
        LoggerModule.forRoot({
          // A wildcard Nest recognises, so it adds the prefix-excluded /health once (the
          // default routes of nestjs-pino would log /health twice). Above `info` no request line
          // is ever written, and pino-http's per-request child logger, listeners and async
          // context would cost a quarter of an authenticated request for nothing (README,
          // Performance); errors are logged with their request id by the filter either way.
          forRoutes: logsRequests(env.LOG_LEVEL) ? [{ path: '/{*splat}', method: RequestMethod.ALL }] : [],
          pinoHttp: {
            level: env.LOG_LEVEL,
            redact: { paths: REDACTED, censor: '[redacted]' },
            // Fastify's id (the client's X-Request-Id when sane), so logs and responses agree.
            genReqId: (req) => (req as { id?: string }).id ?? '',
            serializers: {
              req: (req: { id: string; method: string; url: string; remoteAddress: string; headers: Record<string, unknown> }) => ({
                id: req.id,
                method: req.method,
                // Without the query string: a token or password put there must not reach the logs.
                url: req.url.split('?')[0],
                remoteAddress: req.remoteAddress,
                userAgent: req.headers['user-agent'],
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
        }),
        DatabaseModule,
        // The retention job (sessions/session-retention.job.ts).
        ScheduleModule.forRoot(),
        ThrottlerModule.forRoot({
          throttlers: [
            { name: 'logout', limit: env.THROTTLE_LOGOUT_LIMIT, ttl: env.THROTTLE_LOGOUT_TTL * 1000 },
            {
              name: 'login',
              limit: env.THROTTLE_LOGIN_LIMIT,
              ttl: env.THROTTLE_LOGIN_TTL * 1000,
              getTracker: loginTracker,
            },
          ],
          setHeaders: false,
          storage: env.REDIS_URL ? new RedisThrottlerStorage(env.REDIS_URL) : undefined,
        }),
        MetricsModule,
        AuthModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: validationPipe },
        // Order matters: a request is counted against its rate limit before its token is looked at.
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
      ],
    };
  }
}
