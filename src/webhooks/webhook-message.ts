import { Webhook } from 'standardwebhooks';
import type { SessionEndedEvent } from '../events/session-events.repository.js';

/** The same on every attempt and endpoint: receivers deduplicate by it. */
export const webhookIdOf = (eventId: string): string => `evt_${eventId}`;

export function webhookBody(event: SessionEndedEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}

export function signedHeaders(signer: Webhook, id: string, body: string, at: Date): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signer.sign(id, at, body),
  };
}
