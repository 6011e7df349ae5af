import { Injectable } from '@nestjs/common';
import { Webhook } from 'standardwebhooks';
import { WebhooksConfig, webhookEndpointsOf } from './webhooks.config.js';

/** WEBHOOK_ENDPOINTS parsed once, each endpoint's signer built once. */
@Injectable()
export class WebhookEndpoints {
  readonly urls: string[];
  private readonly signers: Map<string, Webhook>;

  constructor(config: WebhooksConfig) {
    const endpoints = webhookEndpointsOf(config);
    this.urls = endpoints.map((e) => e.url);
    this.signers = new Map(endpoints.map((e) => [e.url, new Webhook(e.secret)]));
  }

  signerFor(url: string): Webhook | undefined {
    return this.signers.get(url);
  }
}
