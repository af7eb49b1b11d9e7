// The weight smoother: rises at once, falls at most 100 points per window.

import { describe, expect, it } from 'vitest';
import { WeightSmoother } from '../../src/core/weight-smoothing.js';
import { weightFromLoad } from '../../src/core/weight.js';
import type { ManagementObservation } from '../../src/core/verdict.js';

const seen = (load: number | null): ManagementObservation => ({ maintenance: false, reason: '', load, calls: null, at: 0, stale: false });

describe('WeightSmoother', () => {
  it('uses the first load as it is (no ramp at startup)', () => {
    const smoother = new WeightSmoother({ windowMs: () => 30_000 });
    expect(smoother.load('px01', seen(20), 0)).toBe(20);
  });

  it('applies a rise in load at once', () => {
    const smoother = new WeightSmoother({ windowMs: () => 30_000 });
    smoother.load('px01', seen(10), 0);
    expect(smoother.load('px01', seen(80), 100)).toBe(80);
  });

  it('ramps a node that just emptied from 100% load down over the window', () => {
    const smoother = new WeightSmoother({ windowMs: () => 30_000 });
    const policy = { min_weight: 1, weight_step: 5 };
    smoother.load('px01', seen(100), 0); // maintenance reports 100%
    const weights = [0, 7_500, 15_000, 22_500, 30_000, 40_000].map((now) => weightFromLoad(smoother.load('px01', seen(0), now), policy));
    expect(weights).toEqual([1, 25, 50, 75, 100, 100]);
  });

  it('follows small falls quickly', () => {
    const smoother = new WeightSmoother({ windowMs: () => 30_000 });
    smoother.load('px01', seen(40), 0);
    expect(smoother.load('px01', seen(35), 1_000)).toBeCloseTo(36.67, 1);
    expect(smoother.load('px01', seen(35), 1_500)).toBe(35);
  });

  it('is off with a zero window', () => {
    const smoother = new WeightSmoother({ windowMs: () => 0 });
    smoother.load('px01', seen(100), 0);
    expect(smoother.load('px01', seen(0), 1)).toBe(0);
  });

  it('forgets a node whose load is unknown, then starts afresh', () => {
    const smoother = new WeightSmoother({ windowMs: () => 30_000 });
    smoother.load('px01', seen(100), 0);
    expect(smoother.load('px01', null, 10)).toBeNull();
    expect(smoother.load('px01', seen(0), 20)).toBe(0);
  });
});
