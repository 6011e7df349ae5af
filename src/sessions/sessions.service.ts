import { Injectable, Logger } from '@nestjs/common';
import type DataLoader from 'dataloader';
import type { Requester } from '../http/requester.js';
import { Database } from '../database/database.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ManyEndReason, SingleEndReason } from './end-reason.js';
import type { Amr } from './amr.js';
import { queryBatcher } from './query-batcher.js';
import { encodeRefreshToken, firstRefreshSecret, hashRefreshSecret } from './refresh-token.js';
import { SessionPolicy } from './session-policy.js';
import { type Device, deviceOf } from './device.js';
import { decodeCursor, encodeCursor } from '../database/page-cursor.js';
import { type Ending, type LiveSession, type SessionView, SessionsRepository } from './sessions.repository.js';
import { UsersRepository } from '../users/users.repository.js';

const MAX_PER_QUERY = 500;

export type ListedSession = Omit<SessionView, 'pageKey'> & { device: Device };

/** A user whose credentials were just checked, with the session epoch read with them. */
export interface Authenticated {
  id: string;
  sessionEpoch: number;
  /** How: RFC 8176 values, recorded on the session. */
  amr: readonly Amr[];
}

export interface OpenedSession {
  id: string;
  expiresAt: Date;
  refreshToken: string;
  accessExpiresAt: Date;
}

// Knows nothing of HTTP or access tokens: a session is a row, and its id is all a caller holds.
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  // Concurrent calls share one statement (never a cache): lookups, ends (one commit), touches.
  private readonly lookups: DataLoader<string, LiveSession | null>;
  private readonly endings: DataLoader<Ending, boolean>;
  private readonly touches: DataLoader<string, null>;

  constructor(
    private readonly repository: SessionsRepository,
    private readonly policy: SessionPolicy,
    private readonly metrics: MetricsService,
    private readonly users: UsersRepository,
    private readonly database: Database,
  ) {
    // Lookups get half the pool, ends a quarter; the rest stays free for other writes.
    const pool = database.poolSize;
    this.lookups = queryBatcher((ids) => this.findLiveBatch(ids), {
      maxQueries: Math.max(1, Math.floor(pool / 2)),
      maxBatchSize: MAX_PER_QUERY,
    });
    this.endings = queryBatcher(
      async (batch) => {
        const ended = await this.repository.endEach(batch);
        batch.forEach((ending, i) => ended[i] && this.metrics.sessionsEnded(ending.reason, 1));
        return ended;
      },
      { maxQueries: Math.max(1, Math.floor(pool / 4)), maxBatchSize: MAX_PER_QUERY },
    );
    this.touches = queryBatcher(async (ids) => (await this.repository.touch([...new Set(ids)]), ids.map(() => null)), {
      maxQueries: 1,
      maxBatchSize: MAX_PER_QUERY,
    });
  }

  // Null when the user was locked, deleted or ended every session since the check: an end is final for a login in flight.
  async open(user: Authenticated, who: Requester): Promise<OpenedSession | null> {
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + this.policy.maxSeconds) * 1000);
    const accessExpiresAt = new Date(Math.min(this.policy.accessUntil().getTime(), expiresAt.getTime()));
    const secret = firstRefreshSecret();
    const id = await this.repository.open(user.id, user.sessionEpoch, user.amr, expiresAt, who, hashRefreshSecret(secret), accessExpiresAt);
    if (!id) return null;
    return { id, expiresAt, accessExpiresAt, refreshToken: encodeRefreshToken({ sessionId: id, generation: 0, secret }) };
  }

  findLive(id: string): Promise<LiveSession | null> {
    return this.lookups.load(id.toLowerCase());
  }

  /** False when it was over already or lost a race to another end of it. */
  end(sessionId: string, userId: string, reason: SingleEndReason, who: Requester): Promise<boolean> {
    return this.endings.load({ sessionId: sessionId.toLowerCase(), userId, reason, who });
  }

  /** A factor proved again on this session (step-up): null when it is no longer live. The other sessions stay as they were. */
  raise(sessionId: string, userId: string, amr: readonly Amr[]): Promise<{ amr: Amr[]; authenticatedAt: Date } | null> {
    return this.repository.raise(sessionId.toLowerCase(), userId, amr);
  }

  /** An operator ends sessions by id alone. */
  ownerOfLive(sessionId: string): Promise<string | undefined> {
    return this.repository.ownerOfLive(sessionId.toLowerCase());
  }

  // Epoch first, in a statement of its own (one snapshot would miss a login committed meanwhile): it is ended or opens nothing.
  async endAll(userId: string, current: string | null, reason: ManyEndReason, who: Requester): Promise<number> {
    const except = reason === 'logout_all' ? null : current;
    const ended = await this.database.transaction(async () => {
      await this.users.advanceSessionEpoch(userId);
      return this.repository.endAll(userId, except, current, reason, who);
    });
    // Counted before a caller's transaction commits: a rate does not notice a rare over-count.
    this.metrics.sessionsEnded(reason, ended);
    return ended;
  }

  /** Undefined for a cursor that is not one. */
  async listPage(userId: string, state: 'live' | 'ended', limit: number, cursor?: string): Promise<{ sessions: ListedSession[]; nextCursor?: string } | undefined> {
    const after = cursor === undefined ? undefined : decodeCursor(`sessions:${state}`, cursor);
    if (cursor !== undefined && !after) return undefined;
    const rows = state === 'live' ? await this.repository.listLive(userId, limit + 1, after) : await this.repository.listEnded(userId, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const sessions = page.map(({ pageKey: _pageKey, ...session }) => ({ ...session, device: deviceOf(session.userAgent) }));
    return rows.length > limit && last ? { sessions, nextCursor: encodeCursor(`sessions:${state}`, { at: last.pageKey, id: last.id }) } : { sessions };
  }

  private async findLiveBatch(ids: readonly string[]): Promise<Array<LiveSession | null>> {
    this.metrics.sessionCheckBatch(ids.length);
    const rows = await this.repository.findLive([...new Set(ids)]);
    const found = new Map<string, LiveSession>();
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
}
