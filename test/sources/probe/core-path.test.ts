// Probe results through the state core and the warnings: unchanged results publish nothing, listeners work on the changes only.

import { describe, expect, it } from 'vitest';
import { MaintenanceWarnings } from '../../../src/core/maintenance-warnings.js';
import { StateCore } from '../../../src/core/state.js';
import type { MaintenanceWarning } from '../../../src/core/maintenance-warnings.js';
import type { NodeVerdict, Snapshot } from '../../../src/core/snapshot.js';
import type { NodeSpec, ProbeObservation } from '../../../src/core/verdict.js';

const policy = { min_weight: 1, weight_step: 5, degraded_load: 90, guard_down_fraction: 0.9, guard_min_nodes: 3 };
const spec = (name: string): NodeSpec => ({ name, address: '10.0.0.1', port: 443, statusUrl: `https://${name}/api/client/v2/status`, source: 'static' });

function harness(names: string[]) {
  let now = 1_000_000;
  const core = new StateCore({ nodes: names.map(spec), rise: 1, fall: 1, maxAgeMs: 60_000, policy, clock: () => now });
  const published: Array<{ snapshot: Snapshot; changed: readonly NodeVerdict[] | undefined }> = [];
  core.onChange((snapshot, changed) => published.push({ snapshot, changed }));
  const probe = (name: string, outcome: ProbeObservation['outcome']) => {
    const reason = outcome === 'available' ? 'ok' : outcome === 'maintenance' ? 'maintenance' : 'timeout';
    core.recordProbe(name, { outcome, reason, detail: '', status: outcome === 'failure' ? null : outcome === 'available' ? 200 : 503, latencyMs: 1, at: now });
    core.flush();
  };
  return { core, published, probe, advance: (ms: number) => (now += ms), now: () => now };
}

describe('probe results through the state core', () => {
  it('publishes nothing for a result that changes nothing, and shows its fresher time when a snapshot is read', () => {
    const { core, published, probe, advance, now } = harness(['px1', 'px2']);
    probe('px1', 'available');
    probe('px2', 'available');
    const count = published.length;
    const version = core.snapshot().version;
    for (let i = 0; i < 100; i += 1) {
      advance(1000);
      probe('px1', 'available');
    }
    expect(published.length).toBe(count);
    const snapshot = core.snapshot();
    expect(snapshot.version).toBe(version);
    expect(snapshot.get('px1')?.observedAt).toBe(now());
    expect(core.snapshot()).toBe(snapshot); // read again with nothing new: the same object
  });

  it('hands listeners exactly the verdicts that changed', () => {
    const { published, probe } = harness(['px1', 'px2', 'px3']);
    probe('px1', 'available');
    probe('px2', 'available');
    probe('px3', 'available');
    published.length = 0;
    probe('px2', 'maintenance');
    expect(published).toHaveLength(1);
    expect(published[0]?.changed?.map((verdict) => [verdict.name, verdict.state])).toEqual([['px2', 'draining']]);
  });
});

describe('MaintenanceWarnings on changes only', () => {
  it('warns exactly as a full walk of every snapshot does', () => {
    const names = ['px1', 'px2', 'px3', 'px4'];
    const { core, probe, advance } = harness(names);
    const options = (into: MaintenanceWarning[]) => ({ policy: () => ({ maintenance_spacing: 120_000, min_ready_capacity: 0.5 }), onWarning: (warning: MaintenanceWarning) => into.push(warning) });
    const incremental: MaintenanceWarning[] = [];
    const full: MaintenanceWarning[] = [];
    const byChanges = new MaintenanceWarnings(options(incremental));
    const byWalk = new MaintenanceWarnings(options(full));
    core.onChange((snapshot, changed) => {
      byChanges.observe(snapshot, changed);
      byWalk.observe(snapshot);
    });
    for (const name of names) probe(name, 'available');
    // Fast steps (under the 1 s full-walk bound), so the incremental path does the work.
    advance(100);
    probe('px1', 'maintenance');
    advance(100);
    probe('px2', 'maintenance');
    advance(100);
    probe('px3', 'failure');
    advance(100);
    for (const name of names) probe(name, 'available');
    advance(100);
    probe('px4', 'maintenance');
    expect(full.map((w) => w.kind)).toEqual(['spacing', 'capacity', 'spacing']);
    expect(incremental).toEqual(full);
  });
});
