import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Delivered, OutboxEntry, OutboxRepository } from './outbox.repository.js';
import { OutboxWorker } from './outbox.worker.js';

function fakeOutbox(rows: Array<{ id: string; lane: string }>) {
  const pending = new Map(rows.map((r) => [r.id, r]));
  const delivered: string[] = [];
  const claims: number[] = [];
  const repository = {
    claim: async (_kind: string, full: string[], limit: number): Promise<OutboxEntry[]> => {
      await sleep(1);
      const taken = [...pending.values()].filter((r) => !full.includes(r.lane)).slice(0, limit);
      for (const r of taken) pending.delete(r.id);
      claims.push(taken.length);
      return taken.map((r) => ({ id: r.id, kind: 'webhook', payload: { lane: r.lane }, attempts: 1, createdAt: new Date(), lane: r.lane }));
    },
    delivered: async (messages: Delivered[]) => void delivered.push(...messages.map((m) => m.id)),
    failed: async () => undefined,
    extendLease: async () => undefined,
  };
  return { repository: repository as unknown as OutboxRepository, delivered, claims };
}

describe('the outbox worker', () => {
  it('a destination that hangs holds its own slots only; the others are delivered, each as soon as it can be', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: String(i + 1), lane: i % 2 ? 'healthy' : 'silent' }));
    const { repository, delivered } = fakeOutbox(rows);
    const worker = new OutboxWorker(repository);
    const inFlight = new Map<string, number>();
    let mostSilent = 0;
    const hanging: Array<() => void> = [];
    worker.handle('webhook', {
      concurrency: { perDestination: 4, total: 16 },
      record: (payload) => payload,
      deliver: async (payload) => {
        const lane = String(payload.lane);
        inFlight.set(lane, (inFlight.get(lane) ?? 0) + 1);
        mostSilent = Math.max(mostSilent, inFlight.get('silent') ?? 0);
        if (lane === 'silent') await new Promise<void>((resolve) => hanging.push(resolve));
        else await sleep(Math.random() * 5);
        inFlight.set(lane, inFlight.get(lane)! - 1);
      },
    });
    const draining = worker.drain();
    for (let i = 0; i < 200 && delivered.length < 20; i++) await sleep(5);
    expect([...delivered].sort((a, b) => Number(a) - Number(b))).toStrictEqual(rows.filter((r) => r.lane === 'healthy').map((r) => r.id));
    expect(mostSilent).toBe(4);
    expect(hanging).toHaveLength(4);
    // Released, the silent destination's slots take the rest of its rows, 4 at a time.
    while (delivered.length < 40) {
      hanging.splice(0).forEach((resolve) => resolve());
      await sleep(5);
    }
    await draining;
    expect(mostSilent).toBe(4);
  });

  it('claims again as slots free, not once a poll: a backlog drains in batches while deliveries run', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: String(i + 1), lane: 'one' }));
    const { repository, delivered, claims } = fakeOutbox(rows);
    const worker = new OutboxWorker(repository);
    worker.handle('webhook', { concurrency: { perDestination: 64, total: 256 }, record: (p) => p, deliver: () => sleep(Math.random() * 3) });
    const started = Date.now();
    await worker.drain();
    expect(delivered).toHaveLength(500);
    // Far below the poll's second; claims of half a destination's slots or more.
    expect(Date.now() - started).toBeLessThan(900);
    expect(claims.filter((n) => n > 0).slice(0, -1).every((n) => n >= 32)).toBe(true);
  });
});
