import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { SessionsService } from './sessions.service.js';

/**
 * Deletes ended sessions once they are past retention, every hour, on whichever instance takes
 * the advisory lock first (see SessionsService.purgeEnded). Audit rows stay.
 */
@Injectable()
export class SessionRetentionJob {
  private readonly logger = new Logger(SessionRetentionJob.name);

  constructor(private readonly sessions: SessionsService) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'session-retention' })
  async run(): Promise<void> {
    try {
      const deleted = await this.sessions.purgeEnded();
      if (deleted === null) this.logger.debug('Another instance is purging ended sessions');
      else this.logger.log({ deleted }, 'Purged ended sessions past retention');
    } catch (err) {
      // The next run tries again; a failed batch deleted nothing (one statement each).
      this.logger.error({ err: String(err) }, 'Purging ended sessions failed');
    }
  }
}
