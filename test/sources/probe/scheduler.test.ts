// The probe scheduler under fake timers: jittered intervals, no overlap, the concurrency cap, removal.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProbeScheduler } from '../../../src/sources/probe/scheduler.js';
import type { NodeSpec, ProbeObservation } from '../../../src/core/verdict.js';

const spec = (name: string): NodeSpec => ({ name, address: '127.0.0.1', port: 1, statusUrl: `http://127.0.0.1/${name}`, source: 'static' });
const okAt = (at: number): ProbeObservation => ({ outcome: 'available', reason: 'ok', detail: '', status: 200, latencyMs: 0, at });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ProbeScheduler', () => {
  it('probes every node at once at start, then once per interval', async () => {
    const starts: Array<[string, number]> = [];
    const scheduler = new ProbeScheduler({
      intervalMs: 1000, jitter: 0, concurrency: 10, clock: Date.now,
      probe: async (node) => {
        starts.push([node.name, Date.now()]);
        return okAt(Date.now());
      },
      onResult: () => undefined,
    });
    const t0 = Date.now();
    scheduler.setNodes([spec('a'), spec('b')]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(3500);
    scheduler.destroy();
    expect(starts.map(([name, at]) => [name, at - t0])).toEqual([
      ['a', 0], ['b', 0], ['a', 1000], ['b', 1000], ['a', 2000], ['b', 2000], ['a', 3000], ['b', 3000],
    ]);
  });

  it('keeps jittered delays within interval ± jitter', async () => {
    const starts: number[] = [];
    let r = 0;
    const randoms = [0, 1, 0.5, 0.25];
    const scheduler = new ProbeScheduler({
      intervalMs: 1000, jitter: 0.2, concurrency: 1, random: () => randoms[r++ % randoms.length] as number,
      probe: async () => {
        starts.push(Date.now());
        return okAt(Date.now());
      },
      onResult: () => undefined,
    });
    scheduler.setNodes([spec('a')]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(4000);
    scheduler.destroy();
    const gaps = starts.slice(1).map((at, i) => at - (starts[i] as number));
    expect(gaps).toEqual([800, 1200, 1000, 900]);
  });

  it('schedules in whole milliseconds, so a jittered due time is never a fraction', async () => {
    const lateness: number[] = [];
    const starts: number[] = [];
    const scheduler = new ProbeScheduler({
      // 1000 × (1 + 0.1 × (2 × 0.3337 − 1)) = 966.74 ms: rounded to 967.
      intervalMs: 1000, jitter: 0.1, concurrency: 1, random: () => 0.3337,
      probe: async () => {
        starts.push(Date.now());
        return okAt(Date.now());
      },
      onResult: () => undefined,
      onStart: (_node, late) => lateness.push(late),
    });
    scheduler.setNodes([spec('a')]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(3000);
    scheduler.destroy();
    expect(starts.slice(1).map((at, i) => at - (starts[i] as number))).toEqual([967, 967, 967]);
    expect(lateness.every((late) => Number.isInteger(late))).toBe(true);
  });

  it('never overlaps two probes of one node, even when a probe outlasts the interval', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const scheduler = new ProbeScheduler({
      intervalMs: 100, jitter: 0, concurrency: 10,
      probe: async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 250));
        inFlight -= 1;
        return okAt(Date.now());
      },
      onResult: () => undefined,
    });
    scheduler.setNodes([spec('a')]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(2000);
    scheduler.destroy();
    expect(maxInFlight).toBe(1);
  });

  it('holds the global concurrency cap and reports lateness of queued probes', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const lateness: number[] = [];
    const scheduler = new ProbeScheduler({
      intervalMs: 1000, jitter: 0, concurrency: 3,
      probe: async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 100));
        inFlight -= 1;
        return okAt(Date.now());
      },
      onResult: () => undefined,
      onStart: (_node, late) => lateness.push(late),
    });
    scheduler.setNodes(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(spec));
    scheduler.start();
    await vi.advanceTimersByTimeAsync(350);
    scheduler.destroy();
    expect(maxInFlight).toBe(3);
    expect(lateness.slice(0, 7)).toEqual([0, 0, 0, 100, 100, 100, 200]);
  });

  it('stops probing removed nodes and reports nothing for them', async () => {
    const results: string[] = [];
    const scheduler = new ProbeScheduler({
      intervalMs: 1000, jitter: 0, concurrency: 10,
      probe: async () => okAt(Date.now()),
      onResult: (node) => results.push(node.name),
    });
    scheduler.setNodes([spec('a'), spec('b')]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10);
    scheduler.setNodes([spec('b')]);
    await vi.advanceTimersByTimeAsync(2500);
    scheduler.destroy();
    expect(results).toEqual(['a', 'b', 'b', 'b']);
  });

  it('close() waits for in-flight probes; destroy() aborts them', async () => {
    let aborted = false;
    const scheduler = new ProbeScheduler({
      intervalMs: 1000, jitter: 0, concurrency: 10,
      probe: (_node, signal) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(okAt(Date.now())), 500);
          signal.addEventListener('abort', () => {
            aborted = true;
            clearTimeout(timer);
            resolve(okAt(Date.now()));
          });
        }),
      onResult: () => undefined,
    });
    scheduler.setNodes([spec('a')]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10);
    let closed = false;
    void scheduler.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(closed).toBe(true);
    expect(aborted).toBe(false);

    scheduler.start();
    scheduler.setNodes([spec('b')]);
    await vi.advanceTimersByTimeAsync(10);
    scheduler.destroy();
    await vi.advanceTimersByTimeAsync(1);
    expect(aborted).toBe(true);
  });
});
