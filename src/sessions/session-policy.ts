import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Env } from '../config/env.validation.js';

// As often at most as `last_used_at` is written (the touch statement says 60 seconds too).
const TOUCH_EVERY_SECONDS = 60;

@Injectable()
export class SessionPolicy {
  /** A minute late at worst, never early: `last_used_at` may be a minute behind the last request. */
  readonly idleSeconds: number;
  readonly maxSeconds: number;
  readonly graceSeconds: number;
  readonly retentionDays: number;
  readonly accessSeconds: number;

  constructor(config: ConfigService<Env, true>) {
    this.idleSeconds = config.get('SESSION_IDLE_TTL', { infer: true }) + TOUCH_EVERY_SECONDS;
    this.maxSeconds = config.get('SESSION_MAX_TTL', { infer: true });
    this.graceSeconds = config.get('REFRESH_REUSE_GRACE', { infer: true });
    this.retentionDays = config.get('SESSION_RETENTION_DAYS', { infer: true });
    this.accessSeconds = config.get('JWT_ACCESS_TTL', { infer: true });
  }

  /** Whole seconds, like a JWT's `exp`; the caller caps it by the session's end. */
  accessUntil(): Date {
    return new Date((Math.floor(Date.now() / 1000) + this.accessSeconds) * 1000);
  }
}
