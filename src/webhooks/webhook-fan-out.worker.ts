import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { PollingLoop } from '../outbox/polling-loop.js';
import { WebhookEndpoints } from './webhook-endpoints.js';
import { WebhooksRepository } from './webhooks.repository.js';

const POLL_MS = 1000;
const BATCH = 500;
export const TOUCH_EVERY_SECONDS = 60;

/** Queues one delivery per new event and endpoint, moving the endpoint's cursor in the same statement. */
@Injectable()
export class WebhookFanOut implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookFanOut.name);
  private readonly loop = new PollingLoop(() => this.fanOut(), POLL_MS);
  private stopped = false;
  private touchedAt = Date.now();

  constructor(
    private readonly endpoints: WebhookEndpoints,
    private readonly repository: WebhooksRepository,
  ) {}

  /** A new endpoint starts after the newest event: no replay of history. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.endpoints.urls.length === 0) return;
    await this.repository.register(this.endpoints.urls);
    this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
  }

  /** The tests call it to skip the wait. */
  run(): Promise<number> {
    return this.loop.run();
  }

  private async fanOut(): Promise<number> {
    const urls = this.endpoints.urls;
    if (urls.length === 0) return 0;
    let total = 0;
    try {
      if (Date.now() - this.touchedAt >= TOUCH_EVERY_SECONDS * 1000) {
        await this.repository.touch(urls);
        this.touchedAt = Date.now();
      }
      for (;;) {
        const { queued, full } = await this.repository.fanOut(urls, BATCH);
        total += queued;
        if (!full || this.stopped) break;
      }
    } catch (err) {
      // Nothing moved for the endpoint whose statement failed: the next pass queues the same events.
      this.logger.warn({ err: String(err) }, 'Could not queue webhook deliveries; trying again');
    }
    return total;
  }
}
