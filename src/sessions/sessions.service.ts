import { createSecretKey, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type DataLoader from 'dataloader';
import type { DataSource, QueryRunner } from 'typeorm';
import type { RequestContext } from '../common/request-context.js';
import type { Env } from '../config/env.validation.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { queryBatcher } from './query-batcher.js';
import {
  decodeRefreshToken,
  encodeRefreshToken,
  firstRefreshSecret,
  hashRefreshSecret,
  type RefreshToken,
  successorOf,
} from './refresh-token.js';
import { type ActiveSession, type Ending, type SessionView, SessionsRepository } from './sessions.repository.js';

export type { ActiveSession, SessionView } from './sessions.repository.js';

/** How often at most `last_used_at` is written per session (the SQL in the repository says 60 seconds too). */
const TOUCH_EVERY_SECONDS = 60;
/** More calls than this waiting at once make several queries. */
const MAX_PER_QUERY = 500;
/** The most sessions a list returns, newest first. */
export const MAX_LISTED = 500;
/**
 * How far back a presented refresh token is followed to tell reuse from a made-up token: a
 * session refreshed every 15 minutes for its whole 30 days has 2,880 generations. One step is
 * one HMAC; a made-up token naming a session costs at most this many.
 */
const MAX_REUSE_STEPS = 4096;
const RETENTION_BATCH = 1000;
/** pg_advisory locks of the retention job; any constant no other feature uses. */
const RETENTION_LOCK = 0x5e551_0e7n;

export interface OpenedSession {
  id: string;
  expiresAt: Date;
  refreshToken: string;
}

export type RefreshOutcome =
  | { ok: true; session: ActiveSession; refreshToken: string }
  | { ok: false; reuse: boolean };

/**
 * The whole life of a session: opened at login, looked up on every authenticated request,
 * rotated by refresh, ended by its user (several ways) or by its clocks, purged after retention.
 * Knows nothing of HTTP or access tokens: a session is a row, its id is all a caller holds.
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  private readonly idleSeconds: number;
  private readonly maxSeconds: number;
  private readonly graceSeconds: number;
  private readonly retentionDays: number;
  /** The HMAC key of refresh-token successors, derived from JWT_SECRET at boot. */
  private readonly successorKey: KeyObject;
  /** Lookups made concurrently share one `id = ANY($1)` query: never a cache (see queryBatcher). */
  private readonly lookups: DataLoader<string, ActiveSession | null>;
  /** Single-session ends made concurrently share one statement, and so one commit. */
  private readonly endings: DataLoader<Ending, number>;
  /** `last_used_at` writes, off the requests' path, coalesced too. */
  private readonly touches: DataLoader<string, null>;

  constructor(
    private readonly repository: SessionsRepository,
    config: ConfigService<Env, true>,
    @InjectDataSource() dataSource: DataSource,
    private readonly metrics: MetricsService,
  ) {
    // last_used_at is written at most once a minute, so a request may have come up to a minute
    // after it: the timeout counts from there, a minute late at worst and never early.
    this.idleSeconds = config.get('SESSION_IDLE_TTL', { infer: true }) + TOUCH_EVERY_SECONDS;
    this.maxSeconds = config.get('SESSION_MAX_TTL', { infer: true });
    this.graceSeconds = config.get('REFRESH_REUSE_GRACE', { infer: true });
    this.retentionDays = config.get('SESSION_RETENTION_DAYS', { infer: true });
    const secret = config.get('JWT_SECRET', { infer: true })!;
    this.successorKey = createSecretKey(
      Buffer.from(hkdfSync('sha256', secret, 'auth-backend', 'refresh-token successor', 32)),
    );
    // Lookups get half the pool, ends a quarter; the rest stays free for other writes.
    // The embedded database has one connection: one of each at a time, queued there.
    const pool = (dataSource.options as { poolSize?: number }).poolSize ?? 10;
    this.lookups = queryBatcher((ids) => this.findActiveBatch(ids), {
      maxQueries: Math.max(1, Math.floor(pool / 2)),
      maxBatchSize: MAX_PER_QUERY,
    });
    this.endings = queryBatcher(async (batch) => {
      const ended = await this.repository.endOne(batch, this.idleSeconds);
      batch.forEach((ending, i) => this.metrics.sessionsEnded(ending.reason, ended[i] ?? 0));
      return ended;
    }, {
      maxQueries: Math.max(1, Math.floor(pool / 4)),
      maxBatchSize: MAX_PER_QUERY,
    });
    this.touches = queryBatcher(async (ids) => (await this.repository.touch([...new Set(ids)]), ids.map(() => null)), {
      maxQueries: 1,
      maxBatchSize: MAX_PER_QUERY,
    });
  }

  private async findActiveBatch(ids: readonly string[]): Promise<Array<ActiveSession | null>> {
    this.metrics.sessionCheckBatch(ids.length);
    const rows = await this.repository.findActive([...new Set(ids)], this.idleSeconds);
    const found = new Map<string, ActiveSession>();
    for (const { stale, ...session } of rows) {
      found.set(session.id, session);
      if (stale) this.touch(session.id);
    }
    return ids.map((id) => found.get(id) ?? null);
  }

  /** Not awaited: a lost write only makes the idle timeout count from a minute earlier. */
  private touch(id: string): void {
    this.touches.load(id).catch((err: unknown) => this.logger.warn({ err: String(err) }, 'Could not record a session as used'));
  }

  /** Opens a session for the user (and audits the login), with its first refresh token. */
  async open(userId: string, who: RequestContext): Promise<OpenedSession> {
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + this.maxSeconds) * 1000);
    const secret = firstRefreshSecret();
    const id = await this.repository.open(userId, expiresAt, who, hashRefreshSecret(secret));
    return { id, expiresAt, refreshToken: encodeRefreshToken({ sessionId: id, generation: 0, secret }) };
  }

  /** The session if it is live (not ended, not past either timeout); null otherwise. */
  findActive(id: string): Promise<ActiveSession | null> {
    return this.lookups.load(id.toLowerCase());
  }

  /**
   * Ends the user's session if it is still live, with one audit row: how many it ended (0 when it
   * was over already, or lost a race to another end of it, in this batch or another).
   */
  endSession(
    sessionId: string,
    userId: string,
    who: RequestContext,
    how: 'logout' | 'revoked_by_id' | 'refresh_reuse',
  ): Promise<number> {
    const ending = {
      logout: { reason: 'logout', event: 'logout', details: { scope: 'current', revokedSessions: 1 } },
      revoked_by_id: { reason: 'revoked_by_id', event: 'session_revoked', details: { reason: 'revoked_by_id', revokedSessions: 1 } },
      refresh_reuse: { reason: 'refresh_reuse', event: 'refresh_reuse', details: { reason: 'refresh_reuse', revokedSessions: 1 } },
    } as const;
    return this.endings.load({ sessionId: sessionId.toLowerCase(), userId, who, ...ending[how] });
  }

  /**
   * Ends every live session of the user (`others`: all but `current`), with one audit row carrying
   * the scope or reason and the count. `transaction`: the caller's, when the end must commit with
   * another change (a password change).
   */
  async endSessions(
    userId: string,
    current: string,
    who: RequestContext,
    how: 'logout_others' | 'logout_all' | 'password_changed',
    transaction?: QueryRunner,
  ): Promise<number> {
    const ending = {
      logout_others: { event: 'logout', details: { scope: 'others' }, except: current },
      logout_all: { event: 'logout', details: { scope: 'all' }, except: null },
      password_changed: { event: 'password_changed', details: { reason: 'password_changed' }, except: current },
    } as const;
    const { except, ...rest } = ending[how];
    const ended = await this.repository.endMany(
      userId,
      except,
      { ...rest, reason: how, who, auditSessionId: current },
      this.idleSeconds,
      transaction,
    );
    // Counted before the caller's transaction commits: a password change that then fails
    // over-counts, which a rate does not notice.
    this.metrics.sessionsEnded(how, ended);
    return ended;
  }

  /** The user's live sessions, newest first; or the ended ones still kept, last ended first. */
  list(userId: string, state: 'live' | 'ended'): Promise<SessionView[]> {
    return state === 'live'
      ? this.repository.listLive(userId, this.idleSeconds, MAX_LISTED)
      : this.repository.listEnded(userId, this.idleSeconds, MAX_LISTED);
  }

  /**
   * Rotates a refresh token: its successor, once. The same token again within the grace period,
   * while its successor is unused, gets that same successor (a retry); presented later, or any
   * earlier token of the session, is reuse, and ends the session. Anything else changes nothing.
   */
  async refresh(token: unknown, who: RequestContext): Promise<RefreshOutcome> {
    const presented = decodeRefreshToken(token);
    if (!presented) return { ok: false, reuse: false };
    const presentedHash = hashRefreshSecret(presented.secret);
    const next = successorOf(presented, this.successorKey);
    const rotated = await this.repository.rotate(
      presented.sessionId,
      presented.generation,
      presentedHash,
      hashRefreshSecret(next.secret),
      this.idleSeconds,
    );
    if (rotated) return { ok: true, session: rotated, refreshToken: encodeRefreshToken(next) };

    const state = await this.repository.refreshState(presented.sessionId, this.idleSeconds, this.graceSeconds);
    if (!state?.live || !state.refreshHash) return { ok: false, reuse: false };
    const { live: _, refreshHash, previousRefreshHash, generation, inGrace, ...session } = state;
    const isRetry =
      inGrace &&
      generation === next.generation &&
      previousRefreshHash !== null &&
      timingSafeEqual(previousRefreshHash, presentedHash) &&
      timingSafeEqual(refreshHash, hashRefreshSecret(next.secret));
    if (isRetry) return { ok: true, session, refreshToken: encodeRefreshToken(next) };

    if (!this.isAncestor(presented, generation, refreshHash)) return { ok: false, reuse: false };
    this.metrics.refreshReuseDetected();
    await this.endSession(session.id, session.userId, who, 'refresh_reuse');
    return { ok: false, reuse: true };
  }

  /** Whether `token` is an earlier token of the chain whose current secret hashes to `currentHash`. */
  private isAncestor(token: RefreshToken, currentGeneration: number, currentHash: Buffer): boolean {
    const steps = currentGeneration - token.generation;
    if (steps <= 0 || steps > MAX_REUSE_STEPS) return false;
    let link = token;
    for (let i = 0; i < steps; i++) link = successorOf(link, this.successorKey);
    return timingSafeEqual(hashRefreshSecret(link.secret), currentHash);
  }

  /**
   * Deletes sessions ended more than SESSION_RETENTION_DAYS ago, in batches, while this instance
   * holds the job's advisory lock: how many, or null when another instance is at it.
   */
  async purgeEnded(now = new Date()): Promise<number | null> {
    const endedBefore = new Date(now.getTime() - this.retentionDays * 86_400_000);
    let total = 0;
    for (;;) {
      const { held, deleted } = await this.repository.purgeBatch(RETENTION_LOCK, endedBefore, this.idleSeconds, RETENTION_BATCH);
      if (!held) return total > 0 ? total : null;
      total += deleted;
      if (deleted < RETENTION_BATCH) return total;
    }
  }
}
