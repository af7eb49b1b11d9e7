// Probe fairness under fake timers: 64 hung nodes with concurrency 8 must not push healthy nodes off their schedule.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProbeScheduler } from '../../../src/sources/probe/scheduler.js';
import type { NodeSpec, ProbeObservation } from '../../../src/core/verdict.js';

const INTERVAL = 1000;
const TIMEOUT = 800;
const spec = (name: string): NodeSpec => ({ name, address: '127.0.0.1', port: 1, statusUrl: `http://127.0.0.1/${name}`, source: 'static' });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A fleet of `hung` nodes that never answer (each probe ends at the timeout) and `healthy` ones that answer in 2 ms. */
async function run(hung: number, healthy: number, seconds: number): Promise<{ lateness: number[]; probes: Map<string, number> }> {
  const lateness: number[] = [];
  const probes = new Map<string, number>();
  const seen = new Set<string>();
  const scheduler = new ProbeScheduler({
    intervalMs: INTERVAL,
    jitter: 0.1,
    concurrency: 8,
    random: () => 0.5,
    probe: (node) =>
      new Promise<ProbeObservation>((resolve) => {
        const isHung = node.name.startsWith('hung');
        setTimeout(() => {
          const at = Date.now();
          resolve(isHung ? { outcome: 'failure', reason: 'timeout', detail: `no answer within ${TIMEOUT}ms`, status: null, latencyMs: TIMEOUT, at } : { outcome: 'available', reason: 'ok', detail: '', status: 200, latencyMs: 2, at });
        }, isHung ? TIMEOUT : 2);
      }),
    onResult: (node) => probes.set(node.name, (probes.get(node.name) ?? 0) + 1),
    onStart: (node, late) => {
      // Each node's first probe is the start-up sweep (every node due at once), not its schedule.
      if (node.name.startsWith('ok') && seen.has(node.name)) lateness.push(late);
      seen.add(node.name);
    },
  });
  // Hung nodes first: the worst order for a FIFO queue.
  scheduler.setNodes([...Array.from({ length: hung }, (_, i) => spec(`hung${i}`)), ...Array.from({ length: healthy }, (_, i) => spec(`ok${i}`))]);
  scheduler.start();
  await vi.advanceTimersByTimeAsync(seconds * 1000);
  scheduler.destroy();
  return { lateness, probes };
}

const p99 = (samples: number[]): number => [...samples].sort((a, b) => a - b)[Math.ceil(0.99 * samples.length) - 1] as number;

describe('Probe fairness', () => {
  it('keeps healthy nodes on schedule beside 64 hung nodes at concurrency 8 (lateness p99 under one interval)', async () => {
    const { lateness, probes } = await run(64, 16, 30);
    expect(lateness.length).toBeGreaterThan(16 * 20);
    expect(p99(lateness)).toBeLessThan(INTERVAL);
    // No healthy node misses rounds: one probe a second each once the start-up sweep (64 hung nodes,
    // 8 at a time, 6.4 s) is through.
    for (let i = 0; i < 16; i += 1) expect(probes.get(`ok${i}`)).toBeGreaterThanOrEqual(20);
  });

  it('keeps probing hung nodes too, within the failing lane\'s share of the slots', async () => {
    const { probes } = await run(64, 16, 30);
    // 6 of 8 slots for 800 ms probes: about 7 probes a second shared by 64 nodes, so each is retried.
    for (let i = 0; i < 64; i += 1) expect(probes.get(`hung${i}`)).toBeGreaterThanOrEqual(2);
  });
});
