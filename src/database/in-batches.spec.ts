import { describe, expect, it, vi } from 'vitest';
import { inBatches } from './in-batches.js';

const answers = (...values: Array<number | null>) => {
  const batch = vi.fn(async () => values.shift()!);
  return batch;
};

describe('inBatches', () => {
  it('repeats while batches come back full, and adds up what they deleted', async () => {
    const batch = answers(10, 10, 3);
    await expect(inBatches(10, batch)).resolves.toBe(23);
    expect(batch).toHaveBeenCalledTimes(3);
  });

  it('stops after an empty batch: 0, not null, when it held the lock', async () => {
    const batch = answers(0, 10);
    await expect(inBatches(10, batch)).resolves.toBe(0);
    expect(batch).toHaveBeenCalledTimes(1);
  });

  it('null when another instance holds the lock from the first batch', async () => {
    const batch = answers(null, 10);
    await expect(inBatches(10, batch)).resolves.toBeNull();
    expect(batch).toHaveBeenCalledTimes(1);
  });

  it('what it deleted so far when the lock is lost between batches', async () => {
    await expect(inBatches(10, answers(10, null))).resolves.toBe(10);
  });

  it('a failing batch rejects, and no further batch runs', async () => {
    const batch = vi.fn().mockResolvedValueOnce(10).mockRejectedValueOnce(new Error('connection lost')).mockResolvedValue(1);
    await expect(inBatches(10, batch)).rejects.toThrow('connection lost');
    expect(batch).toHaveBeenCalledTimes(2);
  });
});
