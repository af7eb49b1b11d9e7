// Table tests for the one weight clamp every formatter uses, and weights from media load.

import { describe, expect, it } from 'vitest';
import { clampWeight, weightFromLoad } from '../../src/core/weight.js';

describe('clampWeight', () => {
  it.each([
    ['a weight in range as it is', 65, 1, 65],
    ['the full weight', 100, 1, 100],
    ['a fraction rounded', 64.6, 1, 65],
    ['a half rounded up', 64.5, 1, 65],
    ['above 100 to 100', 250, 1, 100],
    ['0 to the minimum (never 0: Envoy rejects it, HAProxy and NGINX would drain)', 0, 1, 1],
    ['a negative weight to the minimum', -5, 1, 1],
    ['NaN to the minimum (capacity not known: least traffic)', Number.NaN, 1, 1],
    ['+Infinity to the minimum (not a number we can trust)', Number.POSITIVE_INFINITY, 1, 1],
    ['-Infinity to the minimum', Number.NEGATIVE_INFINITY, 1, 1],
    ['below a configured minimum to that minimum', 3, 10, 10],
    ['NaN to a configured minimum', Number.NaN, 10, 10],
  ])('clamps %s', (_label, weight, min, expected) => {
    expect(clampWeight(weight, min)).toBe(expected);
  });
});

describe('weightFromLoad', () => {
  const policy = { min_weight: 1, weight_step: 5 };
  it.each([
    [null, 100],
    [Number.NaN, 100],
    [0, 100],
    [37, 65],
    [100, 1],
    [140, 1],
    [-10, 100],
  ])('gives load %s weight %i', (load, weight) => {
    expect(weightFromLoad(load, policy)).toBe(weight);
  });
});
