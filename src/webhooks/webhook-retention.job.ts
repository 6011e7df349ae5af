import { Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { Database } from '../database/database.js';
import { inBatches } from '../database/in-batches.js';
import { SessionEventsRepository } from '../events/session-events.repository.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { WebhooksConfig } from './webhooks.config.js';
import { WebhooksRepository } from './webhooks.repository.js';

const BATCH = 1000;
/** Any constant no other feature's advisory lock uses. */
const LOCK = 0x3eb_400_c5n;

/** Events go once every token they could concern has expired; each batch holds the lock in its own transaction. */
@Injectable()
export class WebhookRetentionJob {
  private readonly logger = new Logger(WebhookRetentionJob.name);

  constructor(
    private readonly database: Database,
    private readonly webhooks: WebhooksRepository,
    private readonly outbox: OutboxRepository,
    private readonly events: SessionEventsRepository,
    private readonly config: WebhooksConfig,
  ) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'webhook-retention' })
  async run(): Promise<void> {
    try {
      const purged = await this.purge();
      if (purged === null) this.logger.debug('Another instance is purging webhook deliveries');
      else this.logger.log(purged, 'Purged webhook deliveries and session events past retention');
    } catch (err) {
      this.logger.error({ err: String(err) }, 'Purging webhook deliveries failed');
    }
  }

  async purge(now = new Date()): Promise<{ deliveries: number; events: number } | null> {
    const before = new Date(now.getTime() - this.config.WEBHOOK_RETENTION_DAYS * 86_400_000);
    const deliveries = await inBatches(BATCH, this.locked(() => this.outbox.purge('webhook', before, BATCH)));
    if (deliveries === null) return null;
    const events = await inBatches(BATCH, this.locked(() => this.events.purge(before, BATCH)));
    return { deliveries, events: events ?? 0 };
  }

  private locked(batch: () => Promise<number>): () => Promise<number | null> {
    return () => this.database.transaction(async () => ((await this.webhooks.tryLock(LOCK)) ? batch() : null));
  }
}
