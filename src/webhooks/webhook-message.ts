import { Webhook } from 'standardwebhooks';
import type { SessionEndedEvent } from '../events/session-events.repository.js';

/**
 * A session event as Standard Webhooks carry it (https://www.standardwebhooks.com): the body
 * `{ type, timestamp, data }` (dates as ISO 8601) and the three headers that let a receiver check
 * it and drop a duplicate.
 */

/** The same for every attempt and every endpoint: receivers deduplicate by it. */
export const webhookIdOf = (eventId: string): string => `evt_${eventId}`;

export function webhookBody(event: SessionEndedEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}

/**
 * The headers of one attempt: its own timestamp (receivers refuse one more than 5 minutes off)
 * and a signature of `id.timestamp.body` with the endpoint's secret (`whsec_` and base64).
 */
export function signedHeaders(signer: Webhook, id: string, body: string, at: Date): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signer.sign(id, at, body),
  };
}
