// Weights in one place: spare capacity from media load, and the one clamp every formatter applies.

/** The policy keys weights are derived with (policy.min_weight, policy.weight_step). */
export type WeightPolicy = { min_weight: number; weight_step: number };

/** Largest weight: a node with all its capacity spare (HAProxy's `100%`, Envoy and NGINX weight 100). */
export const MAX_WEIGHT = 100;

/**
 * The weight a load balancer is told, as a whole number in [`min`, 100]. Every formatter (HAProxy
 * agent reply and runtime API, Envoy EDS, NGINX upstream) goes through this one function.
 *
 * NaN policy: a weight that is not a finite number (NaN, ±Infinity) becomes `min` (1 by default).
 * Such a weight can only come from a bug or a hand-made verdict, never from the core
 * (`weightFromLoad` always returns a finite number), and it is treated as "capacity not known":
 * the node stays in service, since its state says it may take calls, but gets the least new traffic
 * instead of a full share it may not have. 1 is also the only choice every load balancer accepts:
 * 0 would drain it in HAProxy and NGINX and makes Envoy reject the whole update (weight ≥ 1), and
 * NaN written as text ("weight=NaN") fails `nginx -t`.
 *
 * @example clampWeight(64.6)     // 65
 * @example clampWeight(250)      // 100
 * @example clampWeight(Number.NaN) // 1
 */
export function clampWeight(weight: number, min = 1): number {
  if (!Number.isFinite(weight)) return min;
  return Math.min(MAX_WEIGHT, Math.max(min, Math.round(weight)));
}

/**
 * Spare capacity as a weight: 100 − load, quantised to `weight_step`, clamped to [min_weight, 100].
 * No load known (null, or not a number) means full weight: DESIGN §2, "100 when no load source is configured".
 *
 * @example weightFromLoad(37, { min_weight: 1, weight_step: 5 }) // 65
 */
export function weightFromLoad(load: number | null, policy: WeightPolicy): number {
  if (load === null || !Number.isFinite(load)) return MAX_WEIGHT;
  const spare = MAX_WEIGHT - Math.min(100, Math.max(0, load));
  const quantised = Math.round(spare / policy.weight_step) * policy.weight_step;
  return clampWeight(quantised, policy.min_weight);
}
