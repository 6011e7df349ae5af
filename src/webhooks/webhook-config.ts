import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Webhook } from 'standardwebhooks';
import { type Env, webhookEndpointsOf } from '../config/env.validation.js';

/** WEBHOOK_ENDPOINTS, WEBHOOK_RETENTION_DAYS and WEBHOOK_TIMEOUT, read once; each endpoint's signer built once. */
@Injectable()
export class WebhookConfig {
  /** The configured URLs, as webhook_endpoints keys them. */
  readonly urls: string[];
  readonly retentionDays: number;
  /** WEBHOOK_TIMEOUT, in milliseconds. */
  readonly timeoutMs: number;
  private readonly signers: Map<string, Webhook>;

  constructor(config: ConfigService<Env, true>) {
    const endpoints = webhookEndpointsOf({ WEBHOOK_ENDPOINTS: config.get('WEBHOOK_ENDPOINTS', { infer: true }) });
    this.urls = endpoints.map((e) => e.url);
    this.signers = new Map(endpoints.map((e) => [e.url, new Webhook(e.secret)]));
    this.retentionDays = config.get('WEBHOOK_RETENTION_DAYS', { infer: true });
    this.timeoutMs = config.get('WEBHOOK_TIMEOUT', { infer: true }) * 1000;
  }

  /** What signs for `url`; undefined when this instance does not have it configured. */
  signerFor(url: string): Webhook | undefined {
    return this.signers.get(url);
  }
}
