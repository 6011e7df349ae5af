import { createSecretKey, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Requester } from '../http/requester.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { decodeRefreshToken, encodeRefreshToken, hashRefreshSecret, type RefreshToken, successorOf } from './refresh-token.js';
import { SessionPolicy } from './session-policy.js';
import { SessionsConfig } from './sessions.config.js';
import { type LiveSession, SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

// A session refreshed every 15 minutes for 30 days has 2,880 generations; the rate limit bounds the walks.
const MAX_REUSE_STEPS = 4096;

export interface Refreshed {
  session: LiveSession;
  refreshToken: string;
  accessExpiresAt: Date;
}

@Injectable()
export class RefreshTokensService {
  private readonly successorKey: KeyObject;

  constructor(
    private readonly repository: SessionsRepository,
    private readonly sessions: SessionsService,
    private readonly policy: SessionPolicy,
    private readonly metrics: MetricsService,
    config: SessionsConfig,
  ) {
    const secret = config.JWT_SECRET!;
    this.successorKey = createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'auth-backend', 'refresh-token successor', 32)));
  }

  // A retry within the grace, its successor unused, gets that successor again; any other earlier token is reuse and ends the session.
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
      const accessExpiresAt = await this.repository.reissue(session.id, this.policy.accessUntil());
      return accessExpiresAt ? { session, accessExpiresAt, refreshToken: encodeRefreshToken(next) } : null;
    }

    if (this.isAncestor(presented, generation, refreshHash)) {
      this.metrics.refreshReuseDetected();
      await this.sessions.end(session.id, session.userId, 'refresh_reuse', who);
    }
    return null;
  }

  private isAncestor(token: RefreshToken, currentGeneration: number, currentHash: Buffer): boolean {
    const steps = currentGeneration - token.generation;
    if (steps <= 0 || steps > MAX_REUSE_STEPS) return false;
    let link = token;
    for (let i = 0; i < steps; i++) link = successorOf(link, this.successorKey);
    return timingSafeEqual(hashRefreshSecret(link.secret), currentHash);
  }
}
