import { Injectable } from '@nestjs/common';
import { AuthConfig } from '../auth/auth.config.js';
import { SessionsConfig } from './sessions.config.js';

/** How often at most `last_used_at` is written per session (the touch statement says 60 seconds too). */
const TOUCH_EVERY_SECONDS = 60;

/** The sessions' clocks, read from the configuration once. */
@Injectable()
export class SessionPolicy {
  /**
   * The idle timeout as the statements apply it. `last_used_at` is written at most once a minute,
   * so a request may have come up to a minute after it: the timeout counts from there, a minute
   * late at worst and never early.
   */
  readonly idleSeconds: number;
  /** The absolute lifetime from login; refreshes never move it. */
  readonly maxSeconds: number;
  /** How long a rotated refresh token may be presented again as a retry. */
  readonly graceSeconds: number;
  readonly retentionDays: number;
  /** How long an access token issued for a session lives (never past the session). */
  readonly accessSeconds: number;

  constructor(config: SessionsConfig, auth: AuthConfig) {
    this.idleSeconds = config.SESSION_IDLE_TTL + TOUCH_EVERY_SECONDS;
    this.maxSeconds = config.SESSION_MAX_TTL;
    this.graceSeconds = config.REFRESH_REUSE_GRACE;
    this.retentionDays = config.SESSION_RETENTION_DAYS;
    this.accessSeconds = auth.JWT_ACCESS_TTL;
  }

  /** The expiry of an access token issued now, whole seconds like a JWT's `exp`; the session's end caps it. */
  accessUntil(): Date {
    return new Date((Math.floor(Date.now() / 1000) + this.accessSeconds) * 1000);
  }
}
