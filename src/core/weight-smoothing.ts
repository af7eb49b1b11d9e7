// Load smoothing for weights: load rises count at once, falls are followed at a bounded rate (a slow start).

import type { ManagementObservation } from './verdict.js';

export type WeightSmootherOptions = {
  /** Time for the weighted load to fall the whole 100 points (policy.weight_smoothing); 0 disables smoothing. */
  windowMs: () => number;
};

/**
 * Asymmetric rate limit on the load weights are computed from (the StateCore `weightLoad` hook).
 *
 * A rise in media_load is applied at once (never send more calls to a filling node than it can take);
 * a fall is followed at no more than 100 points per `windowMs`. A node that just emptied, or that
 * comes back from maintenance (which reports a media load of 100%), therefore ramps up from a low weight
 * over the window instead of taking every new call at once. Small wiggles are followed quickly
 * (10 points take a tenth of the window). The first load seen for a node is used as it is.
 *
 * @example
 * const smoother = new WeightSmoother({ windowMs: () => 30_000 });
 * smoother.load('px01', { load: 100, ... }, 0);     // 100
 * smoother.load('px01', { load: 0, ... }, 15_000);  // 50: half-way down the ramp
 */
export class WeightSmoother {
  private readonly nodes = new Map<string, { load: number; at: number }>();

  constructor(private readonly options: WeightSmootherOptions) {}

  /** The load to weight `name` by at `now` (null: no load known, weight 100). */
  load(name: string, management: ManagementObservation | null, now: number): number | null {
    const actual = management?.load ?? null;
    if (actual === null || !Number.isFinite(actual)) {
      this.nodes.delete(name);
      return null;
    }
    const window = this.options.windowMs();
    const previous = this.nodes.get(name);
    let load = actual;
    if (previous && window > 0 && actual < previous.load) {
      const elapsed = Math.max(0, now - previous.at);
      load = Math.max(actual, previous.load - (100 * elapsed) / window);
    }
    this.nodes.set(name, { load, at: now });
    return load;
  }

  /** Forgets nodes no longer in the inventory. */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.nodes.keys()) if (!names.has(name)) this.nodes.delete(name);
  }
}
