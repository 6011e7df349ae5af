import { afterEach, describe, expect, it, vi } from 'vitest';
import { PollingLoop } from './polling-loop.js';

function held() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('PollingLoop', () => {
  afterEach(() => vi.useRealTimers());

  it('runs nothing before start, then a pass each interval after the last one ended, and none after stop', async () => {
    vi.useFakeTimers();
    const pass = vi.fn(async () => 1);
    const loop = new PollingLoop(pass, 1000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(pass).not.toHaveBeenCalled();
    loop.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(pass).toHaveBeenCalledTimes(3);
    await loop.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(pass).toHaveBeenCalledTimes(3);
  });

  it('never runs two passes at once: a run during a pass joins it, and the timer waits for it', async () => {
    vi.useFakeTimers();
    const gate = held();
    let calls = 0;
    const loop = new PollingLoop(async () => {
      calls++;
      await gate.promise;
      return calls;
    }, 1000);
    loop.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(loop.busy).toBe(true);
    const joined = loop.run();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(1);
    gate.release();
    await expect(joined).resolves.toBe(1);
    expect(loop.busy).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
    await loop.stop();
  });

  it('run wakes it at once, without waiting for the interval', async () => {
    const pass = vi.fn(async () => 'done');
    const loop = new PollingLoop(pass, 60_000);
    loop.start();
    await expect(loop.run()).resolves.toBe('done');
    expect(pass).toHaveBeenCalledTimes(1);
    await loop.stop();
  });

  it('a pass that throws rejects its caller and the loop keeps going', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const loop = new PollingLoop(async () => {
      calls++;
      if (calls <= 2) throw new Error('database away');
      return calls;
    }, 1000);
    await expect(loop.run()).rejects.toThrow('database away');
    loop.start();
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toBe(3);
    await loop.stop();
  });

  it('stop resolves once the pass under way has ended', async () => {
    const gate = held();
    let ended = false;
    const loop = new PollingLoop(async () => {
      await gate.promise;
      ended = true;
    }, 1000);
    void loop.run();
    const stopped = loop.stop();
    gate.release();
    await stopped;
    expect(ended).toBe(true);
  });
});
