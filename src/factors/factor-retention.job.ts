import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { Database } from '../database/database.js';
import { inBatches } from '../database/in-batches.js';
import { FactorsRepository } from './factors.repository.js';
import { MfaChallengesRepository } from './mfa-challenges.repository.js';

const BATCH = 1000;
/** Any constant no other feature's advisory lock uses. */
const LOCK = 0x2fac_70e5n;

/** Pending TOTP factors never confirmed, and challenges past their expiry; each batch holds the lock in its own transaction. */
@Injectable()
export class FactorRetentionJob {
  private readonly logger = new Logger(FactorRetentionJob.name);

  constructor(
    private readonly database: Database,
    private readonly factors: FactorsRepository,
    private readonly challenges: MfaChallengesRepository,
  ) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'factor-retention' })
  async run(): Promise<void> {
    try {
      const purged = await this.purge();
      if (purged === null) this.logger.debug('Another instance is purging expired factors and challenges');
      else this.logger.log(purged, 'Purged expired pending factors and challenges');
    } catch (err) {
      // The next run tries again; a failed batch deleted nothing (one statement each).
      this.logger.error({ err: String(err) }, 'Purging expired pending factors and challenges failed');
    }
  }

  /** Null only when another instance held the lock before this run deleted anything. */
  async purge(): Promise<{ pendingFactors: number; challenges: number } | null> {
    const pendingFactors = await inBatches(BATCH, this.locked(() => this.factors.purgeExpiredPending(BATCH)));
    if (pendingFactors === null) return null;
    const challenges = await inBatches(BATCH, this.locked(() => this.challenges.purgeExpired(BATCH)));
    return { pendingFactors, challenges: challenges ?? 0 };
  }

  private locked(batch: () => Promise<number>): () => Promise<number | null> {
    return () => this.database.transaction(async () => ((await this.factors.tryLock(LOCK)) ? batch() : null));
  }
}
