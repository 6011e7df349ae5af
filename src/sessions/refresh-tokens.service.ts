import { createSecretKey, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Requester } from '../audit/audit.repository.js';
import { AuthConfig } from '../auth/auth.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { decodeRefreshToken, encodeRefreshToken, hashRefreshSecret, type RefreshToken, successorOf } from './refresh-token.js';
import { SessionPolicy } from './session-policy.js';
import { type LiveSession, SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

/**
 * How far back a presented refresh token is followed to tell reuse from a made-up token: a
 * session refreshed every 15 minutes for its whole 30 days has 2,880 generations. One step is
 * one HMAC; the refresh rate limit bounds how often anyone can make the server walk it.
 */
const MAX_REUSE_STEPS = 4096;

/** A rotated refresh token: the session it belongs to, its successor, and the expiry of the access token to issue with it. */
export interface Refreshed {
  session: LiveSession;
  refreshToken: string;
  accessExpiresAt: Date;
}

/**
 * The refresh chain of a session (format in refresh-token.ts): rotation, a harmless retry, and
 * reuse detection, which ends the session.
 */
@Injectable()
export class RefreshTokensService {
  /** The HMAC key of successors, derived from JWT_SECRET at boot. */
  private readonly successorKey: KeyObject;

  constructor(
    private readonly repository: SessionsRepository,
    private readonly sessions: SessionsService,
    private readonly policy: SessionPolicy,
    private readonly metrics: MetricsService,
    config: AuthConfig,
  ) {
    const secret = config.JWT_SECRET!;
    this.successorKey = createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'auth-backend', 'refresh-token successor', 32)));
  }

  /**
   * Rotates a refresh token: its successor, once. The same token again within the grace period,
   * while its successor is unused, gets that same successor (a retry); presented later, or any
   * earlier token of the session, is reuse, and ends the session. Anything else changes nothing.
   * Null for every refusal.
   */
  async rotate(token: unknown, who: Requester): Promise<Refreshed | null> {
    const presented = decodeRefreshToken(token);
    if (!presented) return null;
    const presentedHash = hashRefreshSecret(presented.secret);
    const next = successorOf(presented, this.successorKey);
    const nextHash = hashRefreshSecret(next.secret);
    const rotated = await this.repository.rotate(presented.sessionId, presented.generation, presentedHash, nextHash, this.policy.accessUntil());
    if (rotated) {
      const { accessExpiresAt, ...session } = rotated;
      return { session, accessExpiresAt, refreshToken: encodeRefreshToken(next) };
    }

    const state = await this.repository.refreshState(presented.sessionId, this.policy.graceSeconds);
    if (!state?.live || !state.refreshHash) return null;
    const { live: _, refreshHash, previousRefreshHash, generation, inGrace, ...session } = state;
    const isRetry =
      inGrace &&
      generation === next.generation &&
      previousRefreshHash !== null &&
      timingSafeEqual(previousRefreshHash, presentedHash) &&
      timingSafeEqual(refreshHash, nextHash);
    if (isRetry) {
      // Recorded like any issued token, in a statement that fails if the session just ended.
      const accessExpiresAt = await this.repository.reissue(session.id, this.policy.accessUntil());
      return accessExpiresAt ? { session, accessExpiresAt, refreshToken: encodeRefreshToken(next) } : null;
    }

    if (this.isAncestor(presented, generation, refreshHash)) {
      this.metrics.refreshReuseDetected();
      await this.sessions.end(session.id, session.userId, 'refresh_reuse', who);
    }
    return null;
  }

  /** Whether `token` is an earlier token of the chain whose current secret hashes to `currentHash`. */
  private isAncestor(token: RefreshToken, currentGeneration: number, currentHash: Buffer): boolean {
    const steps = currentGeneration - token.generation;
    if (steps <= 0 || steps > MAX_REUSE_STEPS) return false;
    let link = token;
    for (let i = 0; i < steps; i++) link = successorOf(link, this.successorKey);
    return timingSafeEqual(hashRefreshSecret(link.secret), currentHash);
  }
}
