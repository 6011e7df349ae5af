import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import DataLoader from 'dataloader';
import { type SessionEndedEvent, SessionEventsRepository } from '../events/session-events.repository.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { OutboxWorker, PermanentFailure } from '../outbox/outbox.worker.js';
import { WebhookEndpoints } from './webhook-endpoints.js';
import { WebhooksConfig } from './webhooks.config.js';
import { TOUCH_EVERY_SECONDS } from './webhook-fan-out.worker.js';
import { signedHeaders, webhookBody, webhookIdOf } from './webhook-message.js';
import { WEBHOOK_GIVE_UP_AFTER_SECONDS, webhookRetryDelaySeconds } from './webhook-retry.js';
import { type EndpointState, WebhooksRepository } from './webhooks.repository.js';

export interface WebhookDelivery {
  eventId: string;
  endpointId: string;
}

const CONCURRENCY = { perDestination: 64, total: 256 };
/** Until no running instance has an endpoint configured, one that lacks it (a rolling deploy) leaves its deliveries to one that has. */
const REMOVED_AFTER_SECONDS = 5 * TOUCH_EVERY_SECONDS;

/** Redirects are not followed: a moved receiver is reconfigured, not guessed. */
@Injectable()
export class WebhookDeliveryHandler implements OnModuleInit {
  private readonly logger = new Logger(WebhookDeliveryHandler.name);
  private readonly stopping = new AbortController();
  /** One statement for a claim's worth; not cached past it, as a 410 disables an endpoint for the deliveries after it. */
  private readonly endpoints = new DataLoader<string, EndpointState | undefined>(
    async (ids) => {
      const found = new Map((await this.repository.endpoints([...ids])).map((e) => [e.id, e]));
      return ids.map((id) => found.get(id));
    },
    { cache: false, maxBatchSize: 500 },
  );
  private readonly sessionEvents = new DataLoader<string, SessionEndedEvent | undefined>(
    async (ids) => {
      const found = new Map((await this.events.byIds([...ids])).map((e) => [e.id, e]));
      return ids.map((id) => found.get(id));
    },
    { cache: false, maxBatchSize: 500 },
  );

  constructor(
    private readonly worker: OutboxWorker,
    private readonly configured: WebhookEndpoints,
    private readonly config: WebhooksConfig,
    private readonly repository: WebhooksRepository,
    private readonly events: SessionEventsRepository,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.worker.handle('webhook', {
      deliver: (payload) => this.deliver(payload as unknown as WebhookDelivery),
      record: ({ eventId, endpointId }) => ({ eventId, endpointId }),
      concurrency: CONCURRENCY,
      retryDelaySeconds: (attempts) => webhookRetryDelaySeconds(attempts),
      giveUpAfterSeconds: WEBHOOK_GIVE_UP_AFTER_SECONDS,
      settled: (outcome) => this.metrics.webhookDelivery(outcome),
      stop: () => this.stopping.abort(),
    });
    this.metrics.readWebhookBacklogWith(() => this.repository.backlog());
  }

  async deliver({ eventId, endpointId }: WebhookDelivery): Promise<void> {
    const endpoint = await this.endpoints.load(endpointId);
    if (!endpoint) throw new PermanentFailure('The endpoint no longer exists');
    if (endpoint.disabledAt) throw new PermanentFailure(`The endpoint is disabled (${endpoint.disabledReason ?? 'by an operator'})`);
    const signer = this.configured.signerFor(endpoint.url);
    if (!signer) {
      if (endpoint.unseenSeconds > REMOVED_AFTER_SECONDS) throw new PermanentFailure('The endpoint was removed from WEBHOOK_ENDPOINTS');
      throw new Error('The endpoint is not in WEBHOOK_ENDPOINTS on this instance; left to one that has it');
    }
    const event = await this.sessionEvents.load(eventId);
    // Events outlive their deliveries, so a missing one is an anomaly: retried, and given up with the rest.
    if (!event) throw new Error(`Event ${eventId} not found`);

    const body = webhookBody(event);
    const status = await post(endpoint.url, signedHeaders(signer, webhookIdOf(eventId), body, new Date()), body, this.config.WEBHOOK_TIMEOUT * 1000, this.stopping.signal);
    if (status >= 200 && status < 300) return;
    if (status === 410) {
      await this.repository.disable(endpoint.id, 'The endpoint answered 410 Gone');
      this.logger.warn({ endpointId: endpoint.id, url: endpoint.url }, 'Webhook endpoint answered 410 Gone: disabled');
      throw new PermanentFailure('HTTP 410 Gone: the endpoint is disabled');
    }
    throw new Error(status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}`);
  }
}

async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, stopping: AbortSignal): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'user-agent': 'auth-backend-webhooks' },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping]),
    });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new Error(`No answer within ${timeoutMs / 1000} s`);
    if (stopping.aborted) throw new Error('Cut short: the instance is stopping');
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`Connection failed: ${cause?.code ?? cause?.message ?? String(err)}`);
  }
  // The answer's body means nothing here; a receiver could make it endless.
  await response.body?.cancel().catch(() => undefined);
  return response.status;
}
