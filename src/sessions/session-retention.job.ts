import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { inBatches } from '../database/in-batches.js';
import { SessionPolicy } from './session-policy.js';
import { SessionsRepository } from './sessions.repository.js';

const BATCH = 1000;
/** Any constant no other feature's advisory lock uses. */
const LOCK = 0x5e551_0e7n;

/** Audit rows stay. */
@Injectable()
export class SessionRetentionJob {
  private readonly logger = new Logger(SessionRetentionJob.name);

  constructor(
    private readonly repository: SessionsRepository,
    private readonly policy: SessionPolicy,
  ) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'session-retention' })
  async run(): Promise<void> {
    try {
      const deleted = await this.purge();
      if (deleted === null) this.logger.debug('Another instance is purging ended sessions');
      else this.logger.log({ deleted }, 'Purged ended sessions past retention');
    } catch (err) {
      // The next run tries again; a failed batch deleted nothing (one statement each).
      this.logger.error({ err: String(err) }, 'Purging ended sessions failed');
    }
  }

  async purge(now = new Date()): Promise<number | null> {
    const endedBefore = new Date(now.getTime() - this.policy.retentionDays * 86_400_000);
    return inBatches(BATCH, async () => {
      const { held, deleted } = await this.repository.purgeBatch(LOCK, endedBefore, BATCH);
      return held ? deleted : null;
    });
  }
}
