import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { OutboxModule } from '../outbox/outbox.module.js';
import { WebhookEndpoints } from './webhook-endpoints.js';
import { WebhookDeliveryHandler } from './webhook-delivery.handler.js';
import { WebhookFanOut } from './webhook-fan-out.worker.js';
import { WebhookRetentionJob } from './webhook-retention.job.js';
import { WebhooksRepository } from './webhooks.repository.js';
import { WebhooksService } from './webhooks.service.js';

@Module({
  imports: [OutboxModule, EventsModule],
  providers: [WebhookEndpoints, WebhooksRepository, WebhookFanOut, WebhookDeliveryHandler, WebhookRetentionJob, WebhooksService],
  exports: [WebhooksService, WebhookFanOut],
})
export class WebhooksModule {}
