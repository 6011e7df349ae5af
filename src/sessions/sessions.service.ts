import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import type { Env } from '../config/env.validation.js';
import type { RequestContext } from '../common/request-context.js';
import { type ActiveSession, SessionsRepository } from './sessions.repository.js';

export type { ActiveSession } from './sessions.repository.js';

/** More lookups than this waiting at once make several queries. */
const MAX_LOOKUPS_PER_QUERY = 500;

/**
 * The whole life of a session: opened at login, looked up on every authenticated request, ended
 * by logout. Knows nothing of HTTP or tokens: a session is a row, its id is all a caller holds.
 */
@Injectable()
export class SessionsService {
  private readonly lifetimeSeconds: number;
  /**
   * Concurrent lookups coalesced into one `id = ANY($1)` query. No cache, ever: every lookup is
   * made after its request arrived, so a logout is seen by the next request on every instance.
   */
  private readonly lookups: DataLoader<string, ActiveSession | null>;
  /** Lookup queries running, at most `maxLookupQueries`; batches waiting for one to end. */
  private lookupQueries = 0;
  private readonly maxLookupQueries: number;
  private readonly waitingBatches: Array<() => void> = [];

  constructor(
    private readonly repository: SessionsRepository,
    config: ConfigService<Env, true>,
    @InjectDataSource() dataSource: DataSource,
  ) {
    // Until refresh tokens exist, a session lasts as long as its access token.
    this.lifetimeSeconds = config.get('JWT_ACCESS_TTL', { infer: true });
    // Half the pool (the embedded database's one connection): the rest stays free for writes.
    this.maxLookupQueries = Math.max(1, Math.floor(((dataSource.options as { poolSize?: number }).poolSize ?? 10) / 2));
    this.lookups = new DataLoader((ids) => this.findActiveBatch(ids), {
      cache: false,
      maxBatchSize: MAX_LOOKUPS_PER_QUERY,
      batchScheduleFn: (dispatch) => this.scheduleBatch(dispatch),
    });
  }

  /**
   * A batch takes every lookup made before it is sent: at the end of the turn of the event loop
   * that opened it (as DataLoader does), or, while the lookup queries allowed are all running,
   * when one of them ends. Under load, requests that arrive one by one, each in its own turn,
   * share a query instead of queueing one query each behind the pool.
   */
  private scheduleBatch(dispatch: () => void): void {
    if (this.lookupQueries >= this.maxLookupQueries) {
      this.waitingBatches.push(dispatch);
      return;
    }
    this.lookupQueries++;
    void Promise.resolve().then(() => process.nextTick(dispatch));
  }

  private async findActiveBatch(ids: readonly string[]): Promise<Array<ActiveSession | null>> {
    try {
      const found = new Map((await this.repository.findActive([...new Set(ids)])).map((s) => [s.id, s]));
      return ids.map((id) => found.get(id) ?? null);
    } finally {
      const next = this.waitingBatches.shift();
      if (next) next();
      else this.lookupQueries--;
    }
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
   * it was over already, or lost a race to another logout).
   */
  revoke(sessionId: string, userId: string, who: RequestContext): Promise<number> {
    return this.repository.revoke(sessionId, userId, who, { scope: 'current' });
  }
}
