import 'reflect-metadata';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { parsedOnce } from '../config/parsed-once.js';

export class WebhooksConfig {
  @IsOptional()
  @IsString()
  WEBHOOK_ENDPOINTS?: string;

  @IsInt()
  @Min(1)
  @Max(60)
  WEBHOOK_TIMEOUT: number = 10;

  /** Also how long session events are kept. */
  @IsInt()
  @Min(1)
  @Max(3650)
  WEBHOOK_RETENTION_DAYS: number = 30;
}

export interface WebhookEndpoint {
  url: string;
  secret: string;
}

export const webhookEndpointsOf = parsedOnce((env: Pick<WebhooksConfig, 'WEBHOOK_ENDPOINTS'>): WebhookEndpoint[] => {
  const pairs = (env.WEBHOOK_ENDPOINTS ?? '').split(',').map((pair) => pair.trim()).filter(Boolean);
  const endpoints = pairs.map((pair) => {
    const [url = '', secret = '', ...rest] = pair.split('|').map((part) => part.trim());
    let httpUrl = false;
    try {
      httpUrl = /^https?:$/.test(new URL(url).protocol);
    } catch {
      httpUrl = false;
    }
    if (!httpUrl || rest.length > 0 || !/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) {
      throw new Error('Invalid configuration: WEBHOOK_ENDPOINTS must be url|whsec_<base64 secret> pairs, comma-separated');
    }
    return { url, secret };
  });
  if (new Set(endpoints.map((e) => e.url)).size !== endpoints.length) throw new Error('Invalid configuration: WEBHOOK_ENDPOINTS lists a URL twice');
  return endpoints;
});
