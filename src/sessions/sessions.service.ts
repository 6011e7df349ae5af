import { Injectable, Logger } from '@nestjs/common';
import type DataLoader from 'dataloader';
import type { Requester } from '../http/requester.js';
import { Database } from '../database/database.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ManyEndReason, SingleEndReason } from './end-reason.js';
import { queryBatcher } from './query-batcher.js';
import { encodeRefreshToken, firstRefreshSecret, hashRefreshSecret } from './refresh-token.js';
import { SessionPolicy } from './session-policy.js';
import { type Device, deviceOf } from './device.js';
import { decodeCursor, encodeCursor } from '../database/page-cursor.js';
import { type Ending, type LiveSession, type SessionView, SessionsRepository } from './sessions.repository.js';
import { UsersRepository } from '../users/users.repository.js';

/** More calls than this waiting at once make several queries. */
const MAX_PER_QUERY = 500;

/** A session as its user (or an operator) sees it listed. */
export type ListedSession = Omit<SessionView, 'pageKey'> & { device: Device };

/** A user whose credentials were just checked, and the session epoch they were checked under. */
export interface Authenticated {
  id: string;
  sessionEpoch: number;
}

export interface OpenedSession {
  id: string;
  expiresAt: Date;
  refreshToken: string;
  /** The expiry of its first access token. */
  accessExpiresAt: Date;
}

/**
 * The life of a session: opened at login, looked up on every authenticated request, ended by its
 * user (several ways) or by its clocks. Knows nothing of HTTP or access tokens: a session is a
 * row, its id is all a caller holds. Rotation is refresh-tokens.service.ts; purging is
 * session-retention.job.ts.
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);
  /** Lookups made concurrently share one `id = ANY($1)` query: never a cache (see queryBatcher). */
  private readonly lookups: DataLoader<string, LiveSession | null>;
  /** Single-session ends made concurrently share one statement, and so one commit. */
  private readonly endings: DataLoader<Ending, boolean>;
  /** `last_used_at` writes, off the requests' path, coalesced too. */
  private readonly touches: DataLoader<string, null>;

  constructor(
    private readonly repository: SessionsRepository,
    private readonly policy: SessionPolicy,
    private readonly metrics: MetricsService,
    private readonly users: UsersRepository,
    private readonly database: Database,
  ) {
    // Lookups get half the pool, ends a quarter; the rest stays free for other writes.
    // The embedded database has one connection: one of each at a time, queued there.
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

  /**
   * Opens a session for the user (and audits the login), with its first refresh token and the
   * expiry of its first access token: the one way in, whatever proved who the user is. Null when
   * the user was locked, deleted, or had all their sessions ended (endAll) since their
   * credentials were checked: an end is final for a login in flight too.
   */
  async open(user: Authenticated, who: Requester): Promise<OpenedSession | null> {
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + this.policy.maxSeconds) * 1000);
    const accessExpiresAt = new Date(Math.min(this.policy.accessUntil().getTime(), expiresAt.getTime()));
    const secret = firstRefreshSecret();
    const id = await this.repository.open(user.id, user.sessionEpoch, expiresAt, who, hashRefreshSecret(secret), accessExpiresAt);
    if (!id) return null;
    return { id, expiresAt, accessExpiresAt, refreshToken: encodeRefreshToken({ sessionId: id, generation: 0, secret }) };
  }

  /** The session if it is live (not ended, not past either timeout); null otherwise. */
  findLive(id: string): Promise<LiveSession | null> {
    return this.lookups.load(id.toLowerCase());
  }

  /**
   * Ends the user's session if it is still live, with one audit row: whether it ended it (false
   * when it was over already, or lost a race to another end of it, in this batch or another).
   */
  end(sessionId: string, userId: string, reason: SingleEndReason, who: Requester): Promise<boolean> {
    return this.endings.load({ sessionId: sessionId.toLowerCase(), userId, reason, who });
  }

  /** The user a live session belongs to, or undefined (an operator ends sessions by id alone). */
  ownerOfLive(sessionId: string): Promise<string | undefined> {
    return this.repository.ownerOfLive(sessionId.toLowerCase());
  }

  /**
   * Ends every live session of the user but `current` (`logout_others`, `password_changed`), or
   * every one (`logout_all`, or `current` null: a reset, a deletion), with one audit row carrying the scope or reason and the count: how
   * many. Inside Database.transaction, it commits with the caller's other changes.
   *
   * The user's session epoch advances first, in a statement of its own: a login checked under the
   * old epoch then either committed before (and its session is ended here, and counted) or opens
   * nothing (see open). One statement would not do: its snapshot would miss a session committed
   * while it waited for the user's row.
   */
  async endAll(userId: string, current: string | null, reason: ManyEndReason, who: Requester): Promise<number> {
    const except = reason === 'logout_all' ? null : current;
    const ended = await this.database.transaction(async () => {
      await this.users.advanceSessionEpoch(userId);
      return this.repository.endAll(userId, except, current, reason, who);
    });
    // Counted before a caller's transaction commits: a password change that then fails
    // over-counts, which a rate does not notice.
    this.metrics.sessionsEnded(reason, ended);
    return ended;
  }

  /**
   * A page of the user's live sessions, newest first, or of the ended ones still kept, last ended
   * first: `limit` of them after `cursor` (a previous page's `nextCursor`), each with its device,
   * and the cursor of the next page (none on the last). Undefined for a cursor that is not one.
   */
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
