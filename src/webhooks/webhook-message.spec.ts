import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { SessionEndedEvent } from '../events/session-events.repository.js';
import { signedHeaders, webhookBody, webhookIdOf } from './webhook-message.js';

describe('a session event as a Standard Webhook', () => {
  const secret = `whsec_${Buffer.from('a test secret of enough bytes!!').toString('base64')}`;
  const event: SessionEndedEvent = {
    id: '42',
    type: 'session.ended',
    timestamp: new Date('2026-12-04T05:00:00.123Z'),
    data: { sessionId: 's', userId: 'u', reason: 'logout', version: 3, denyUntil: new Date('2026-12-04T05:15:00Z') },
  };

  it('carries type, timestamp and data, dates in ISO 8601, and no feed id', () => {
    expect(JSON.parse(webhookBody(event))).toStrictEqual({
      type: 'session.ended',
      timestamp: '2026-12-04T05:00:00.123Z',
      data: { sessionId: 's', userId: 'u', reason: 'logout', version: 3, denyUntil: '2026-12-04T05:15:00.000Z' },
    });
  });

  it('is signed so that the standardwebhooks package verifies it, and nothing else', () => {
    const body = webhookBody(event);
    const headers = signedHeaders(new Webhook(secret), webhookIdOf(event.id), body, new Date());
    expect(headers['webhook-id']).toBe('evt_42');
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toStrictEqual(JSON.parse(body));
    // The secret is the same with or without its prefix; another secret, or another body, fails.
    expect(new Webhook(secret.slice('whsec_'.length)).verify(body, headers)).toBeTruthy();
    expect(() => new Webhook(`whsec_${Buffer.from('another secret, also long enough').toString('base64')}`).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace('logout', 'logout_all'), headers)).toThrow();
  });
});
