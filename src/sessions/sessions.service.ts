import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import type { Env } from '../config/env.validation.js';
import type { RequestContext } from '../common/request-context.js';
import { queryBatcher } from './query-batcher.js';
import { type ActiveSession, type Revocation, SessionsRepository } from './sessions.repository.js';

export type { ActiveSession } from './sessions.repository.js';

/** More calls than this waiting at once make several queries. */
const MAX_PER_QUERY = 500;

/**
 * The whole life of a session: opened at login, looked up on every authenticated request, ended
 * by logout. Knows nothing of HTTP or tokens: a session is a row, its id is all a caller holds.
 */
@Injectable()
export class SessionsService {
  private readonly lifetimeSeconds: number;
  /** Lookups made concurrently share one `id = ANY($1)` query: never a cache (see queryBatcher). */
  private readonly lookups: DataLoader<string, ActiveSession | null>;
  /** Logouts made concurrently share one statement, and so one commit. */
  private readonly revocations: DataLoader<Revocation, number>;

  constructor(
    private readonly repository: SessionsRepository,
    config: ConfigService<Env, true>,
    @InjectDataSource() dataSource: DataSource,
  ) {
    // Until refresh tokens exist, a session lasts as long as its access token.
    this.lifetimeSeconds = config.get('JWT_ACCESS_TTL', { infer: true });
    // Lookups get half the pool, revocations a quarter; the rest stays free for other writes.
    // The embedded database has one connection: one of each at a time, queued there.
    const pool = (dataSource.options as { poolSize?: number }).poolSize ?? 10;
    this.lookups = queryBatcher((ids) => this.findActiveBatch(ids), {
      maxQueries: Math.max(1, Math.floor(pool / 2)),
      maxBatchSize: MAX_PER_QUERY,
    });
    this.revocations = queryBatcher((batch) => this.repository.revoke(batch), {
      maxQueries: Math.max(1, Math.floor(pool / 4)),
      maxBatchSize: MAX_PER_QUERY,
    });
  }

  private async findActiveBatch(ids: readonly string[]): Promise<Array<ActiveSession | null>> {
    const found = new Map((await this.repository.findActive([...new Set(ids)])).map((s) => [s.id, s]));
    return ids.map((id) => found.get(id) ?? null);
  }

  /** Opens a session for the user (and audits the login): its id and when it ends, in whole seconds. */
  async open(userId: string, who: RequestContext): Promise<{ id: string; expiresAt: Date }> {
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + this.lifetimeSeconds) * 1000);
    return { id: await this.repository.open(userId, expiresAt, who), expiresAt };
  }

  /** The session if it exists and is neither revoked nor expired; null otherwise. */
  findActive(id: string): Promise<ActiveSession | null> {
    return this.lookups.load(id.toLowerCase());
  }

  /**
   * Ends the user's session if it is still live, with one audit row: how many it ended (0 when
   * it was over already, or lost a race to another logout, in this batch or another).
   */
  revoke(sessionId: string, userId: string, who: RequestContext): Promise<number> {
    return this.revocations.load({ sessionId: sessionId.toLowerCase(), userId, who, details: { scope: 'current' } });
  }
}
