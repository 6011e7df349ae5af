import { describe, expect, it } from 'vitest';
import { DenyList } from './deny-list.js';
import type { SessionEndedEvent } from './wire.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function ended(sessionId: string, version: number, denyUntilMs: number): SessionEndedEvent {
  return {
    id: String(version),
    type: 'session.ended',
    timestamp: new Date(T0).toISOString(),
    data: { sessionId, userId: 'u', reason: 'logout', version, denyUntil: new Date(denyUntilMs).toISOString() },
  };
}

describe('DenyList', () => {
  const clock = () => {
    const c = { now: T0, list: undefined as unknown as DenyList };
    c.list = new DenyList(0, () => c.now);
    return c;
  };

  it('denies a session until denyUntil, then forgets it on sweep', () => {
    const c = clock();
    c.list.apply(ended('s', 1, T0 + 1000));
    expect(c.list.denies('s')).toBe(true);
    expect(c.list.denies('other')).toBe(false);
    c.now = T0 + 999;
    c.list.sweep();
    expect(c.list.size).toBe(1);
    c.now = T0 + 1000;
    expect(c.list.denies('s')).toBe(false);
    c.list.sweep();
    expect(c.list.size).toBe(0);
  });

  it('never lets a lower or equal version change an entry', () => {
    const c = clock();
    c.list.apply(ended('s', 5, T0 + 1000));
    c.list.apply(ended('s', 4, T0 + 9000));
    c.list.apply(ended('s', 5, T0 + 9000));
    c.now = T0 + 1000;
    expect(c.list.denies('s')).toBe(false);
    c.now = T0;
    c.list.apply(ended('s', 6, T0 + 9000));
    c.now = T0 + 5000;
    expect(c.list.denies('s')).toBe(true);
  });

  it('does not store an end already past', () => {
    const c = clock();
    c.list.apply(ended('s', 1, T0 - 1));
    expect(c.list.size).toBe(0);
  });

  it('extends every entry by the clock tolerance', () => {
    let now = T0;
    const list = new DenyList(5000, () => now);
    list.apply(ended('s', 1, T0 + 1000));
    now = T0 + 5999;
    expect(list.denies('s')).toBe(true);
    now = T0 + 6000;
    expect(list.denies('s')).toBe(false);
  });

  it("keeps an introspection's inference until an event replaces it, and never shortens an event's", () => {
    const c = clock();
    c.list.infer('a', T0 + 1000);
    expect(c.list.denies('a')).toBe(true);
    c.list.apply(ended('a', 1, T0 + 3000));
    c.now = T0 + 2000;
    expect(c.list.denies('a')).toBe(true);

    c.list.apply(ended('b', 1, T0 + 9000));
    c.list.infer('b', T0 + 4000);
    c.now = T0 + 8000;
    expect(c.list.denies('b')).toBe(true);
  });
});
