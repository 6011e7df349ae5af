import { Injectable } from '@nestjs/common';
import { WebhookEndpoints } from './webhook-endpoints.js';
import { type DeliveryView, type EndpointView, WebhooksRepository } from './webhooks.repository.js';

export type DeliveryStatus = 'pending' | 'dead';

export interface ListedEndpoint extends EndpointView {
  configured: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURSOR_LIST = 'webhook-deliveries';

const encodeCursor = (id: string) => Buffer.from(JSON.stringify([CURSOR_LIST, id])).toString('base64url');
function decodeCursor(cursor: string): bigint | undefined {
  try {
    const [list, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    return list === CURSOR_LIST && typeof id === 'string' && /^[1-9]\d{0,18}$/.test(id) ? BigInt(id) : undefined;
  } catch {
    return undefined;
  }
}

@Injectable()
export class WebhooksService {
  constructor(
    private readonly repository: WebhooksRepository,
    private readonly configured: WebhookEndpoints,
  ) {}

  async endpoints(): Promise<ListedEndpoint[]> {
    return (await this.repository.list()).map((e) => ({ ...e, configured: this.configured.signerFor(e.url) !== undefined }));
  }

  async deliveries(status: DeliveryStatus | undefined, limit: number, cursor?: string): Promise<{ deliveries: DeliveryView[]; nextCursor?: string } | undefined> {
    const before = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && before === undefined) return undefined;
    const rows = await this.repository.deliveries(status ? [status] : ['pending', 'dead'], before, limit + 1);
    const deliveries = rows.slice(0, limit);
    const last = deliveries.at(-1);
    return rows.length > limit && last ? { deliveries, nextCursor: encodeCursor(last.id) } : { deliveries };
  }

  enable(id: string): Promise<{ url: string; wasDisabled: boolean } | undefined> {
    return UUID.test(id) ? this.repository.enable(id) : Promise.resolve(undefined);
  }
}
