import { describe, expect, it, vi } from 'vitest';
import { CatchUpPages } from './catch-up-pages.js';
import type { SessionEndedEvent } from './session-events.repository.js';

const event = (id: number): SessionEndedEvent => ({
  id: String(id),
  type: 'session.ended',
  timestamp: new Date(0),
  data: { sessionId: 's', userId: 'u', reason: 'logout', version: 1, denyUntil: new Date(0) },
});
const frame = (e: SessionEndedEvent) => `id: ${e.id}\n\n`;

function feed(count: number) {
  const read = vi.fn(async (_denying: boolean, after: bigint, limit: number) =>
    Array.from({ length: Math.max(0, Math.min(limit, count - Number(after))) }, (_, i) => event(Number(after) + i + 1)),
  );
  return { read, grow: (more: number) => (count += more) };
}

describe('CatchUpPages', () => {
  it('reads and frames a full page once for every stream that asks for it at about the same time', async () => {
    const { read } = feed(10);
    const pages = new CatchUpPages(3, read, frame);
    const [a, b] = await Promise.all([pages.after(false, 0n), pages.after(false, 0n)]);
    const c = await pages.after(false, 0n);
    expect(read).toHaveBeenCalledTimes(1);
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(a.bytes.toString()).toBe('id: 1\n\nid: 2\n\nid: 3\n\n');
    expect(a).toMatchObject({ last: 3n, full: true });
  });

  it('never shares the last, short page: a stream that asks later reads what committed since', async () => {
    const { read, grow } = feed(4);
    const pages = new CatchUpPages(3, read, frame);
    expect(await pages.after(false, 3n)).toMatchObject({ last: 4n, full: false });
    grow(1);
    expect((await pages.after(false, 3n)).bytes.toString()).toBe('id: 4\n\nid: 5\n\n');
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('keeps the deny list apart from the whole feed, and an empty page says where it stands', async () => {
    const { read } = feed(3);
    const pages = new CatchUpPages(3, read, frame);
    await pages.after(false, 0n);
    await pages.after(true, 0n);
    expect(read.mock.calls.map(([denying]) => denying)).toEqual([false, true]);
    expect(await pages.after(false, 3n)).toMatchObject({ last: 3n, full: false, bytes: Buffer.alloc(0) });
  });

  it('forgets a page whose read failed, so the next stream reads it again', async () => {
    const { read } = feed(10);
    read.mockRejectedValueOnce(new Error('connection lost'));
    const pages = new CatchUpPages(3, read, frame);
    await expect(pages.after(false, 0n)).rejects.toThrow('connection lost');
    expect((await pages.after(false, 0n)).last).toBe(3n);
  });

  it('keeps a handful of pages, for a few seconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { read } = feed(100);
      const pages = new CatchUpPages(3, read, frame);
      for (let after = 0n; after < 30n; after += 3n) await pages.after(false, after);
      expect(read).toHaveBeenCalledTimes(10);
      await pages.after(false, 27n); // kept
      await pages.after(false, 0n); // evicted by newer pages
      expect(read).toHaveBeenCalledTimes(11);
      vi.advanceTimersByTime(6000);
      await pages.after(false, 27n); // too old
      expect(read).toHaveBeenCalledTimes(12);
    } finally {
      vi.useRealTimers();
    }
  });
});
