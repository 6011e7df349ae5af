import type { FeedPage, Heartbeat, SessionEndedEvent } from './wire.js';

/** A message the receiver cannot read: it must not skip it, since it may be an end of session. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A feed or stream entry: a session end, or undefined for a type this version does not know. */
export function parseEvent(value: unknown): SessionEndedEvent | undefined {
  if (!isObject(value) || typeof value.id !== 'string') throw new ProtocolError('An event without an id');
  if (value.type !== 'session.ended') return undefined;
  const data = value.data;
  if (
    !isObject(data) ||
    typeof data.sessionId !== 'string' ||
    typeof data.version !== 'number' ||
    !Number.isFinite(data.version) ||
    typeof data.denyUntil !== 'string' ||
    Number.isNaN(Date.parse(data.denyUntil))
  ) {
    throw new ProtocolError(`Event ${value.id} is not a readable session.ended`);
  }
  return value as unknown as SessionEndedEvent;
}

export function parseHeartbeat(value: unknown): Heartbeat {
  if (!isObject(value) || typeof value.lagMs !== 'number' || !Number.isFinite(value.lagMs)) {
    throw new ProtocolError('A heartbeat without lagMs');
  }
  return value as unknown as Heartbeat;
}

export function parseFeedPage(value: unknown): FeedPage['data'] {
  const data = isObject(value) ? value.data : undefined;
  if (!isObject(data) || !Array.isArray(data.events) || !(data.cursor === null || typeof data.cursor === 'string')) {
    throw new ProtocolError('A feed page without events and cursor');
  }
  return data as unknown as FeedPage['data'];
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError('A message whose data is not JSON');
  }
}

/** Whether cursor `a` comes after `b`: decimal strings growing in commit order. */
export function isAfter(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return a !== b;
  return a.length !== b.length ? a.length > b.length : a > b;
}
