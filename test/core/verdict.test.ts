// The verdict rules of DESIGN §2 as tables: hysteresis, staleness, precedence, weights.

import { describe, expect, it } from 'vitest';
import { applyProbe, deriveVerdict, initialTracker } from '../../src/core/verdict.js';
import { weightFromLoad } from '../../src/core/weight.js';
import type { HealthTracker, ManagementObservation, Override, ProbeObservation } from '../../src/core/verdict.js';

const rules = { rise: 2, fall: 2 };
const policy = { min_weight: 1, weight_step: 5, degraded_load: 90 };
const NOW = 1_000_000;

const ok = (at = NOW): ProbeObservation => ({ outcome: 'available', reason: 'ok', detail: '', status: 200, latencyMs: 3, at });
const maint = (detail = 'Software upgrade', at = NOW): ProbeObservation => ({ outcome: 'maintenance', reason: 'maintenance', detail, status: 503, latencyMs: 3, at });
const fail = (at = NOW): ProbeObservation => ({ outcome: 'failure', reason: 'refused', detail: 'connect ECONNREFUSED', status: null, latencyMs: 1, at });
const STEP: Record<string, () => ProbeObservation> = { ok, maint, fail };

function run(sequence: string[]): HealthTracker {
  return sequence.reduce((tracker, step) => applyProbe(tracker, (STEP[step] as () => ProbeObservation)(), rules), initialTracker());
}

function verdictAfter(sequence: string[], extra: { management?: ManagementObservation | null; override?: Override | null; now?: number } = {}) {
  return deriveVerdict({
    tracker: run(sequence),
    management: extra.management ?? null,
    override: extra.override ?? null,
    now: extra.now ?? NOW,
    maxAgeMs: 5000,
    rules,
    policy,
  });
}

describe('hysteresis (rise 2, fall 2)', () => {
  const table: Array<[string[], string]> = [
    [[], 'unknown'],
    [['ok'], 'ready'], // first result decisive
    [['fail'], 'down'], // first result decisive, even for errors
    [['maint'], 'draining'],
    [['ok', 'maint'], 'draining'], // maintenance counts at once
    [['ok', 'fail'], 'ready'], // one error is not enough
    [['ok', 'fail', 'fail'], 'down'],
    [['ok', 'fail', 'ok', 'fail'], 'ready'], // errors must be consecutive
    [['fail', 'ok'], 'down'], // leaving down needs rise successes
    [['fail', 'ok', 'ok'], 'ready'],
    [['ok', 'maint', 'ok'], 'draining'], // leaving draining needs rise successes
    [['ok', 'maint', 'ok', 'ok'], 'ready'],
    [['ok', 'maint', 'ok', 'maint', 'ok'], 'draining'],
    [['ok', 'maint', 'fail'], 'draining'], // a rebooting node keeps draining until fall errors
    [['ok', 'maint', 'fail', 'fail'], 'down'],
    [['ok', 'maint', 'fail', 'fail', 'ok', 'ok'], 'ready'],
  ];
  it.each(table)('%j gives %s', (sequence, state) => {
    expect(verdictAfter(sequence).state).toBe(state);
  });

  it('keeps the node\'s maintenance message as the reason while draining, also across an error', () => {
    expect(verdictAfter(['maint']).reason).toBe('Software upgrade');
    expect(verdictAfter(['ok', 'maint', 'fail']).reason).toBe('Software upgrade');
    expect(verdictAfter(['ok', 'maint', 'ok']).reason).toBe('Software upgrade (leaving: 1 of 2 successes)');
  });

  it('says why a node is down', () => {
    expect(verdictAfter(['ok', 'fail', 'fail']).reason).toBe('refused (2 in a row): connect ECONNREFUSED');
    expect(verdictAfter(['fail', 'ok']).reason).toBe('recovering: 1 of 2 successes');
  });
});

describe('staleness', () => {
  it('turns a verdict unknown when its newest probe result is older than max_age', () => {
    expect(verdictAfter(['ok'], { now: NOW + 5000 }).state).toBe('ready');
    const stale = verdictAfter(['ok'], { now: NOW + 5001 });
    expect(stale.state).toBe('unknown');
    expect(stale.reason).toBe('last probe result is 5.0s old');
  });
});

describe('precedence', () => {
  const override = (state: Override['state'], expiresAt: number | null = null): Override => ({ state, reason: 'ticket 42', by: 'alice', setAt: NOW, expiresAt });
  const management = (maintenance: boolean, load: number | null = 20, reason = ''): ManagementObservation => ({ maintenance, reason, load, calls: 3, at: NOW, stale: false });

  const table: Array<[string, string[], Override | null, ManagementObservation | null, string]> = [
    ['drain override beats a healthy node', ['ok'], override('drain'), null, 'draining'],
    ['maint override beats a healthy node', ['ok'], override('maint'), null, 'maint'],
    ['ready override beats maintenance', ['maint'], override('ready'), null, 'ready'],
    ['ready override beats down', ['fail'], override('ready'), null, 'ready'],
    ['override applies before any probe result', [], override('drain'), null, 'draining'],
    ['an expired override no longer applies', ['ok'], override('drain', NOW), null, 'ready'],
    ['Management Node maintenance drains a node that answers 200', ['ok'], null, management(true), 'draining'],
    ['down wins over Management Node maintenance', ['fail'], null, management(true), 'down'],
    ['no maintenance anywhere is ready', ['ok'], null, management(false), 'ready'],
  ];
  it.each(table)('%s', (_name, sequence, theOverride, theManagement, state) => {
    expect(verdictAfter(sequence, { override: theOverride, management: theManagement }).state).toBe(state);
  });

  it('uses the Management Node reason when the node gives none', () => {
    expect(verdictAfter(['ok'], { management: management(true, 100, 'Azure scheduled event') }).reason).toBe('Azure scheduled event');
    expect(verdictAfter(['maint'], { management: management(true, 100, 'Azure scheduled event') }).reason).toBe('Software upgrade');
  });

  it('names the operator in the override reason', () => {
    expect(verdictAfter(['ok'], { override: override('drain') }).reason).toBe('operator override: ticket 42');
  });
});

describe('weights', () => {
  it.each([
    [null, 100], [0, 100], [37, 65], [38, 60], [99, 1], [100, 1], [120, 1], [-5, 100], [2, 100], [3, 95],
  ])('load %s gives weight %i', (load, weight) => {
    expect(weightFromLoad(load, { min_weight: 1, weight_step: 5 })).toBe(weight);
  });

  it('respects min_weight and a step of 1', () => {
    expect(weightFromLoad(97, { min_weight: 10, weight_step: 1 })).toBe(10);
    expect(weightFromLoad(37, { min_weight: 1, weight_step: 1 })).toBe(63);
  });

  it('marks a ready node degraded at or above degraded_load', () => {
    const management = (load: number): ManagementObservation => ({ maintenance: false, reason: '', load, calls: 1, at: NOW, stale: false });
    expect(verdictAfter(['ok'], { management: management(89) }).degraded).toBe(false);
    expect(verdictAfter(['ok'], { management: management(90) })).toMatchObject({ degraded: true, weight: 10, state: 'ready' });
  });
});
