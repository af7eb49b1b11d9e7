// No false capacity warning at start-up: a saved override drains a node before the others have a first verdict.

import { describe, expect, it } from 'vitest';
import { MaintenanceWarnings } from '../../src/core/maintenance-warnings.js';
import { Snapshot } from '../../src/core/snapshot.js';
import type { MaintenanceWarning } from '../../src/core/maintenance-warnings.js';
import type { NodeVerdict } from '../../src/core/snapshot.js';
import type { NodeState } from '../../src/core/verdict.js';

function verdict(name: string, state: NodeState, observed: boolean): NodeVerdict {
  return {
    name, address: '10.0.0.1', port: 443, statusUrl: 'https://10.0.0.1/api/client/v2/status', source: 'static',
    state, weight: 100, load: null, maintenance: false, degraded: false, reason: '', override: null, calls: null,
    drainedSince: null, heldByGuard: false, probe: observed ? { reason: 'ok', status: 200, latencyMs: 1, at: 0 } : null,
    since: 0, observedAt: observed ? 0 : null, version: 1,
  } as NodeVerdict;
}

function snapshot(at: number, nodes: NodeVerdict[]): Snapshot {
  return new Snapshot(at, at, nodes, new Map(nodes.map((node, index) => [node.name, index])), { active: false, downCount: 0, total: nodes.length, since: null });
}

describe('capacity warnings at start-up', () => {
  it('wait for the first complete snapshot, then warn on a real shortfall', () => {
    const warnings: MaintenanceWarning[] = [];
    const subject = new MaintenanceWarnings({ policy: () => ({ maintenance_spacing: 120_000, min_ready_capacity: 0.5 }), onWarning: (w) => warnings.push(w) });
    // Restart: px01's saved drain override applies at once; px02 and px03 have no result yet.
    subject.observe(snapshot(0, [verdict('px01', 'draining', false), verdict('px02', 'unknown', false), verdict('px03', 'unknown', false)]));
    subject.observe(snapshot(100, [verdict('px01', 'draining', false), verdict('px02', 'ready', true), verdict('px03', 'unknown', false)]));
    // First complete snapshot: 2 of 3 ready, above 50%.
    subject.observe(snapshot(200, [verdict('px01', 'draining', true), verdict('px02', 'ready', true), verdict('px03', 'ready', true)]));
    expect(warnings).toEqual([]);
    subject.observe(snapshot(300, [verdict('px01', 'draining', true), verdict('px02', 'draining', true), verdict('px03', 'ready', true)]));
    expect(warnings.map((w) => w.kind)).toEqual(['capacity']);
  });
});
