import { Injectable } from '@nestjs/common';
import { SessionsConfig } from './sessions.config.js';

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

  constructor(config: SessionsConfig) {
    this.idleSeconds = config.SESSION_IDLE_TTL + TOUCH_EVERY_SECONDS;
    this.maxSeconds = config.SESSION_MAX_TTL;
    this.graceSeconds = config.REFRESH_REUSE_GRACE;
    this.retentionDays = config.SESSION_RETENTION_DAYS;
    this.accessSeconds = config.JWT_ACCESS_TTL;
  }

  /** Whole seconds, like a JWT's `exp`; the caller caps it by the session's end. */
  accessUntil(): Date {
    return new Date((Math.floor(Date.now() / 1000) + this.accessSeconds) * 1000);
  }
}
