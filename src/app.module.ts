import { type DynamicModule, Module, RequestMethod, type Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AccountsModule } from './accounts/accounts.module.js';
import { AdminModule } from './admin/admin.module.js';
import { APP_PARTS } from './app.parts.js';
import { AuthModule } from './auth/auth.module.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { EnvModule } from './config/env.module.js';
import type { Env } from './config/env.validation.js';
import type { Entity, Migration } from './database/data-source-options.js';
import { DatabaseModule } from './database/database.module.js';
import { AllExceptionsFilter } from './errors/all-exceptions.filter.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { MailModule } from './mail/mail.module.js';
import { validationPipe } from './http/validation.pipe.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { MfaModule } from './mfa/mfa.module.js';
import { PasskeysModule } from './passkeys/passkeys.module.js';
import { RateLimitGuard } from './rate-limit/rate-limit.guard.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { ShutdownModule } from './shutdown/shutdown.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

// Secrets that might turn up in a logged object, such as an error; request lines carry none.
const REDACTED = [
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.mfaToken',
  '*.recoveryCode',
  '*.recoveryCodes',
  '*.secret',
];

const logsRequests = (level: string): boolean => ['info', 'debug', 'trace'].includes(level);

/** A team's own modules and their tables, served beside auth under the same guards and filter. */
export interface AppParts {
  modules?: Array<Type | DynamicModule>;
  migrations?: Migration[];
  entities?: Entity[];
}

@Module({})
export class AppModule {
  /** src/app.parts.ts, plus `parts` (a test's module); data-source-options.ts adds the parts' tables. */
  static forRoot(env: Env, { modules = [], migrations = [], entities = [] }: AppParts = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, skipProcessEnv: true, load: [() => ({ ...env })] }),
        EnvModule.forRoot(env),
        LoggerModule.forRoot({
          // Above `info` no request line is written, so pino-http would cost for nothing (docs/performance.md).
          forRoutes: logsRequests(env.LOG_LEVEL) ? [{ path: '/{*splat}', method: RequestMethod.ALL }] : [],
          pinoHttp: {
            level: env.LOG_LEVEL,
            // Nest's per-controller line shows the global prefix even on the probes it excludes; "Mapped" lines are right.
            hooks: {
              logMethod(args, write) {
                if ((args[0] as { context?: unknown } | undefined)?.context !== 'RoutesResolver') write.apply(this, args);
              },
            },
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
        DatabaseModule.forRoot({ migrations, entities }),
        ShutdownModule,
        // For the retention jobs' @Cron (sessions, webhooks).
        ScheduleModule.forRoot(),
        RateLimitModule.forRoot(env),
        MetricsModule,
        AuthModule,
        MfaModule,
        PasskeysModule,
        AccountsModule,
        MailModule,
        AdminModule,
        EventsModule,
        WebhooksModule,
        HealthModule,
        ...new Set([...(APP_PARTS.modules ?? []), ...modules]),
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
