// The state core: snapshots, versions, overrides with expiry, inventory changes and the blast-radius guard.

import { describe, expect, it } from 'vitest';
import { StateCore } from '../../src/core/state.js';
import type { Logger } from '../../src/core/logger.js';
import type { NodeSpec, ProbeObservation } from '../../src/core/verdict.js';

const policy = { min_weight: 1, weight_step: 5, degraded_load: 90, guard_down_fraction: 0.5, guard_min_nodes: 3 };

function spec(name: string): NodeSpec {
  return { name, address: `10.0.0.${name.slice(2)}`, port: 443, statusUrl: `https://${name}/api/client/v2/status`, source: 'static' };
}

function harness(names = ['px1', 'px2', 'px3', 'px4']) {
  let now = 1_000_000;
  const lines: Array<{ fields: object; message?: string }> = [];
  const logger: Logger = {
    debug() {},
    info: (fields, message) => lines.push({ fields, message }),
    warn: (fields, message) => lines.push({ fields, message }),
    error: (fields, message) => lines.push({ fields, message }),
    child: () => logger,
  };
  const core = new StateCore({ nodes: names.map(spec), rise: 2, fall: 2, maxAgeMs: 5000, policy, clock: () => now, logger });
  const probe = (name: string, outcome: ProbeObservation['outcome'], detail = '') => {
    const reason = outcome === 'available' ? 'ok' : outcome === 'maintenance' ? 'maintenance' : 'timeout';
    core.recordProbe(name, { outcome, reason, detail, status: outcome === 'failure' ? null : outcome === 'available' ? 200 : 503, latencyMs: 2, at: now });
  };
  return {
    core,
    lines,
    probe,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
    stateOf: (name: string) => core.snapshot().get(name)?.state,
  };
}

describe('StateCore', () => {
  it('shows the newest probe result on a verdict whose state did not change', () => {
    const h = harness(['px1']);
    h.probe('px1', 'available');
    h.core.flush();
    h.core.setOverride('px1', { state: 'drain', reason: 'operator', by: 'test', setAt: h.now(), expiresAt: null });
    h.advance(1000);
    h.probe('px1', 'maintenance', 'Maintenance mode');
    h.core.flush();
    const version = h.core.snapshot().version;
    h.advance(1000);
    h.probe('px1', 'maintenance', 'Maintenance mode');
    h.core.flush();
    const verdict = h.core.snapshot().get('px1');
    expect(verdict?.state).toBe('draining');
    expect(verdict?.version).toBe(version); // nothing visible changed: no new version
    expect(verdict?.probe).toMatchObject({ status: 503, reason: 'maintenance', at: h.now() });
  });

  it('starts unknown and publishes the first result of each node at once', () => {
    const h = harness();
    expect(h.core.snapshot().nodes.map((n) => n.state)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(h.core.snapshot().complete).toBe(false);
    for (const name of ['px1', 'px2', 'px3']) h.probe(name, 'available');
    h.probe('px4', 'maintenance', 'Software upgrade');
    h.core.flush();
    expect(h.core.snapshot().nodes.map((n) => n.state)).toEqual(['ready', 'ready', 'ready', 'draining']);
    expect(h.core.snapshot().complete).toBe(true);
  });

  it('never changes a published snapshot: a fresher observation comes in a new snapshot at the same version', () => {
    const h = harness();
    h.probe('px1', 'available');
    h.core.flush();
    const published = h.core.snapshot();
    const before = published.get('px1');
    const observedBefore = before?.observedAt;
    h.advance(1000);
    h.probe('px1', 'available');
    h.core.flush();
    const fresher = h.core.snapshot();
    expect(published.get('px1')).toBe(before);
    expect(published.get('px1')?.observedAt).toBe(observedBefore);
    expect(fresher).not.toBe(published);
    expect(fresher.version).toBe(published.version);
    expect(fresher.get('px1')?.observedAt).toBe(h.now());
    // Asking again without news hands out the same object (built once per flush, not per call).
    expect(h.core.snapshot()).toBe(fresher);
  });

  it('publishes frozen verdicts and a frozen list', () => {
    const h = harness();
    h.probe('px1', 'available');
    h.core.flush();
    const snapshot = h.core.snapshot();
    expect(Object.isFrozen(snapshot.nodes)).toBe(true);
    expect(snapshot.nodes.every((node) => Object.isFrozen(node))).toBe(true);
    expect(Object.isFrozen(snapshot.get('px1')?.probe)).toBe(true);
    expect(() => {
      (snapshot.get('px1') as { weight: number }).weight = 5;
    }).toThrow(TypeError);
  });

  it('publishes a new version when only the node\'s inventory source changes', () => {
    const h = harness(['px1']);
    h.probe('px1', 'available');
    h.core.flush();
    const version = h.core.snapshot().version;
    h.core.setInventory([{ ...spec('px1'), source: 'discovered' }]);
    expect(h.core.snapshot().version).toBe(version + 1);
    expect(h.core.snapshot().get('px1')?.source).toBe('discovered');
  });

  it('bumps the version only when something visible changes, and notifies listeners', () => {
    const h = harness();
    const seen: number[] = [];
    h.core.onChange((snapshot) => seen.push(snapshot.version));
    h.probe('px1', 'available');
    h.core.flush();
    const version = h.core.snapshot().version;
    h.advance(1000);
    h.probe('px1', 'available');
    h.core.flush();
    expect(h.core.snapshot().version).toBe(version);
    expect(h.core.snapshot().get('px1')?.observedAt).toBe(h.now()); // age refreshed without a new version
    h.probe('px1', 'maintenance', 'going away');
    h.core.flush();
    expect(h.core.snapshot().version).toBe(version + 1);
    expect(h.core.snapshot().get('px1')?.version).toBe(version + 1);
    expect(seen).toEqual([version, version + 1]);
  });

  it('logs each state change as one structured line', () => {
    const h = harness();
    h.probe('px2', 'available');
    h.core.flush();
    h.probe('px2', 'maintenance', 'Software upgrade');
    h.core.flush();
    const changes = h.lines.filter((line) => line.message === 'verdict changed').map((line) => line.fields);
    expect(changes).toEqual([
      { node: 'px2', from: 'unknown', to: 'ready', reason: 'available' },
      { node: 'px2', from: 'ready', to: 'draining', reason: 'Software upgrade' },
    ]);
  });

  it('turns stale verdicts unknown on tick', () => {
    const h = harness();
    h.probe('px1', 'available');
    h.core.flush();
    h.advance(5001);
    h.core.tick();
    expect(h.stateOf('px1')).toBe('unknown');
  });

  it('applies an override first, keeps it against probing, and drops it at expiry', () => {
    const h = harness();
    h.probe('px1', 'available');
    h.core.setOverride('px1', { state: 'drain', reason: 'replace disk', by: 'alice', setAt: h.now(), expiresAt: h.now() + 60_000 });
    expect(h.stateOf('px1')).toBe('draining');
    for (let i = 0; i < 5; i++) {
      h.advance(1000);
      h.probe('px1', 'available');
      h.core.flush();
    }
    expect(h.stateOf('px1')).toBe('draining');
    h.advance(60_000);
    h.probe('px1', 'available');
    h.core.tick();
    expect(h.stateOf('px1')).toBe('ready');
    expect(h.core.listOverrides().size).toBe(0);
    expect(h.lines.some((line) => line.message === 'override expired')).toBe(true);
  });

  it('clears an override on request and reports whether one existed', () => {
    const h = harness();
    h.probe('px1', 'available');
    h.core.setOverride('px1', { state: 'maint', reason: '', by: 'bob', setAt: h.now(), expiresAt: null });
    expect(h.stateOf('px1')).toBe('maint');
    expect(h.core.clearOverride('px1')).toBe(true);
    expect(h.core.clearOverride('px1')).toBe(false);
    expect(h.stateOf('px1')).toBe('ready');
  });

  it('adds and removes nodes without losing the verdicts of the others', () => {
    const h = harness(['px1', 'px2']);
    h.probe('px1', 'maintenance', 'upgrade');
    h.probe('px2', 'available');
    h.core.flush();
    h.core.setInventory([spec('px1'), spec('px9')]);
    const snapshot = h.core.snapshot();
    expect(snapshot.names()).toEqual(['px1', 'px9']);
    expect(snapshot.get('px1')?.state).toBe('draining');
    expect(snapshot.get('px9')?.state).toBe('unknown');
    expect(snapshot.get('px2')).toBeUndefined();
  });

  it('holds the last verdicts when more than the guard fraction of nodes fail at once', () => {
    const h = harness();
    for (const name of ['px1', 'px2', 'px3', 'px4']) h.probe(name, 'available');
    h.core.flush();
    for (const name of ['px1', 'px2', 'px3']) h.probe(name, 'failure');
    h.core.flush();
    for (const name of ['px1', 'px2', 'px3']) h.probe(name, 'failure');
    h.core.flush();
    const snapshot = h.core.snapshot();
    expect(snapshot.guard.active).toBe(true);
    expect(snapshot.nodes.map((n) => n.state)).toEqual(['ready', 'ready', 'ready', 'ready']);
    expect(snapshot.get('px1')?.heldByGuard).toBe(true);
    expect(snapshot.get('px1')?.reason).toMatch(/\[held by guard\]$/);
    expect(h.lines.some((line) => /blast-radius guard active/.test(line.message ?? ''))).toBe(true);
    // Recovery: the nodes answer again and the guard lets go.
    for (let i = 0; i < 2; i++) {
      for (const name of ['px1', 'px2', 'px3']) h.probe(name, 'available');
      h.core.flush();
    }
    expect(h.core.snapshot().guard.active).toBe(false);
    expect(h.core.snapshot().nodes.map((n) => [n.state, n.heldByGuard])).toEqual([
      ['ready', false], ['ready', false], ['ready', false], ['ready', false],
    ]);
  });

  it('lets a minority of nodes go down without the guard', () => {
    const h = harness();
    for (const name of ['px1', 'px2', 'px3', 'px4']) h.probe(name, 'available');
    h.core.flush();
    for (let i = 0; i < 2; i++) {
      for (const name of ['px1', 'px2']) h.probe(name, 'failure');
      h.core.flush();
    }
    expect(h.core.snapshot().guard.active).toBe(false);
    expect(h.core.snapshot().nodes.map((n) => n.state)).toEqual(['down', 'down', 'ready', 'ready']);
  });

  it('does not guard fleets smaller than guard_min_nodes', () => {
    const h = harness(['px1', 'px2']);
    h.probe('px1', 'available');
    h.probe('px2', 'available');
    h.core.flush();
    for (let i = 0; i < 2; i++) {
      h.probe('px1', 'failure');
      h.probe('px2', 'failure');
      h.core.flush();
    }
    expect(h.core.snapshot().nodes.map((n) => n.state)).toEqual(['down', 'down']);
  });
});
