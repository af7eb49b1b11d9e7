// The state core's per-probe fast path: an answered probe of a steady ready node moves only its freshness, and every input that can change a verdict still does.

import { describe, expect, it } from 'vitest';
import { StateCore } from '../../src/core/state.js';
import { WeightSmoother } from '../../src/core/weight-smoothing.js';
import type { NodeSpec, ProbeObservation } from '../../src/core/verdict.js';

const policy = { min_weight: 1, weight_step: 1, degraded_load: 90, guard_down_fraction: 0.9, guard_min_nodes: 3 };
const spec = (name: string): NodeSpec => ({ name, address: '10.0.0.1', port: 443, statusUrl: `https://${name}/api/client/v2/status`, source: 'static' });

function harness(options: { smoothingMs?: number } = {}) {
  let now = 1_000_000;
  const smoother = new WeightSmoother({ windowMs: () => options.smoothingMs ?? 0 });
  const core = new StateCore({
    nodes: [spec('px1'), spec('px2')], rise: 1, fall: 1, maxAgeMs: 60_000, policy, clock: () => now,
    weightLoad: (name, management, at) => smoother.load(name, management, at),
  });
  const versions: number[] = [];
  core.onChange((snapshot) => versions.push(snapshot.version));
  const answer = (name: string, latencyMs = 1): ProbeObservation => {
    const observation: ProbeObservation = { outcome: 'available', reason: 'ok', detail: '', status: 200, latencyMs, at: now };
    core.recordProbe(name, observation);
    core.flush();
    return observation;
  };
  const management = (name: string, load: number) => {
    core.recordManagement(name, { maintenance: false, reason: '', load, calls: 0, at: now, stale: false });
    core.flush();
  };
  return { core, versions, answer, management, advance: (ms: number) => (now += ms), now: () => now };
}

describe('StateCore fast path', () => {
  it('publishes nothing for answered probes of a ready node, yet shows each one\'s time and latency', () => {
    const h = harness();
    h.answer('px1');
    h.answer('px2');
    const published = h.versions.length;
    for (let i = 1; i <= 5; i += 1) {
      h.advance(1000);
      h.answer('px1', 10 + i);
    }
    expect(h.versions).toHaveLength(published);
    expect(h.core.snapshot().get('px1')?.probe).toMatchObject({ latencyMs: 15, at: h.now(), status: 200 });
    expect(h.core.snapshot().get('px1')?.observedAt).toBe(h.now());
  });

  it('keeps its own copy of the last probe: the caller\'s object is never changed or shown later', () => {
    const h = harness();
    h.answer('px1');
    h.advance(1000);
    const second = h.answer('px1', 7);
    h.advance(1000);
    h.answer('px1', 9);
    expect(second).toMatchObject({ latencyMs: 7, at: h.now() - 1000 });
    expect(h.core.snapshot().get('px1')?.probe?.latencyMs).toBe(9);
  });

  it('still follows a weight ramp with every answered probe while smoothing moves the load', () => {
    const h = harness({ smoothingMs: 10_000 });
    h.management('px1', 100);
    h.answer('px1');
    const start = h.core.snapshot().get('px1')?.weight as number;
    h.management('px1', 0); // the load fell: the weight ramps up over 10 s, re-derived on each probe
    const weights: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      h.advance(1000);
      h.answer('px1');
      weights.push(h.core.snapshot().get('px1')?.weight as number);
    }
    expect(weights[0]).toBeGreaterThan(start);
    for (let i = 1; i < weights.length; i += 1) expect(weights[i]).toBeGreaterThan(weights[i - 1] as number);
  });

  it('re-derives a node with an override, and after the override is cleared', () => {
    const h = harness();
    h.answer('px1');
    h.core.setOverride('px1', { state: 'drain', reason: 'upgrade', by: 'test', setAt: h.now(), expiresAt: null });
    h.advance(1000);
    h.answer('px1');
    expect(h.core.snapshot().get('px1')?.state).toBe('draining');
    h.core.clearOverride('px1', 'test');
    h.advance(1000);
    h.answer('px1');
    expect(h.core.snapshot().get('px1')).toMatchObject({ state: 'ready', override: null });
  });

  it('comes back from stale to ready with the first fresh answer', () => {
    const h = harness();
    h.answer('px1');
    h.advance(61_000);
    h.core.tick();
    expect(h.core.snapshot().get('px1')?.state).toBe('unknown');
    h.answer('px1');
    expect(h.core.snapshot().get('px1')?.state).toBe('ready');
  });
});

describe('StateCore.published', () => {
  it('hands out the published version without copying fresher observation times', () => {
    const h = harness();
    h.answer('px1');
    h.answer('px2');
    const published = h.core.published();
    h.advance(1000);
    h.answer('px1');
    // Nothing visible changed: the same object, observation time behind...
    expect(h.core.published()).toBe(published);
    expect(h.core.published().get('px1')?.observedAt).toBe(h.now() - 1000);
    // ...while snapshot() shows the fresher time at the same version.
    expect(h.core.snapshot().get('px1')?.observedAt).toBe(h.now());
    expect(h.core.snapshot().version).toBe(published.version);
  });

  it('carries every visible change at once', () => {
    const h = harness();
    h.answer('px1');
    h.core.recordProbe('px1', { outcome: 'maintenance', reason: 'maintenance', detail: 'upgrade', status: 503, latencyMs: 1, at: h.now() });
    h.core.flush();
    expect(h.core.published().get('px1')).toMatchObject({ state: 'draining', reason: 'upgrade' });
    expect(h.core.published().version).toBe(h.core.snapshot().version);
  });
});
