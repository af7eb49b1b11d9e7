// Spacing and capacity warnings: unit tests on synthetic snapshots, and against the simulator.

import { describe, expect, it } from 'vitest';
import { MaintenanceWarnings } from '../../src/core/maintenance-warnings.js';
import { Snapshot } from '../../src/core/snapshot.js';
import { waitFor } from '../helpers/service.js';
import { counterValue, nodeJson, recordingLogger, startFleet, startServiceAgainst } from '../sources/management/helpers.js';
import type { MaintenanceWarning } from '../../src/core/maintenance-warnings.js';
import type { NodeVerdict } from '../../src/core/snapshot.js';
import type { NodeState } from '../../src/core/verdict.js';

const DEFAULT_POLICY = { maintenance_spacing: 120_000, min_ready_capacity: 0.5 };

function verdict(name: string, state: NodeState, maintenance: boolean): NodeVerdict {
  return {
    name, address: '10.0.0.1', port: 443, statusUrl: 'https://10.0.0.1/api/client/v2/status', source: 'static',
    state, weight: 100, load: null, maintenance, degraded: false, reason: '', override: null, calls: null,
    drainedSince: null, heldByGuard: false, probe: { reason: 'ok', status: 200, latencyMs: 1, at: 0 }, since: 0, observedAt: 0, version: 1,
  };
}

/** A fleet of `names`; those in `inMaintenance` are draining. */
function snapshot(at: number, names: string[], inMaintenance: string[]): Snapshot {
  const nodes = names.map((name) => (inMaintenance.includes(name) ? verdict(name, 'draining', true) : verdict(name, 'ready', false)));
  return new Snapshot(at, at, nodes, new Map(names.map((name, index) => [name, index])), { active: false, downCount: 0, total: nodes.length, since: null });
}

function watcher(policy = DEFAULT_POLICY, capacityOf?: (name: string) => number | null) {
  const warnings: MaintenanceWarning[] = [];
  const subject = new MaintenanceWarnings({ policy: () => policy, ...(capacityOf ? { capacityOf } : {}), onWarning: (warning) => warnings.push(warning) });
  return { subject, warnings, spacing: () => warnings.filter((w) => w.kind === 'spacing'), capacity: () => warnings.filter((w) => w.kind === 'capacity') };
}

const FLEET = ['px01', 'px02', 'px03', 'px04', 'px05', 'px06'];

describe('MaintenanceWarnings', () => {
  it('warns when a second node enters maintenance 10 s after the first (default spacing 2m)', () => {
    const { subject, spacing } = watcher();
    subject.observe(snapshot(0, FLEET, []));
    subject.observe(snapshot(1_000, FLEET, ['px01']));
    expect(spacing()).toHaveLength(0);
    subject.observe(snapshot(11_000, FLEET, ['px01', 'px02']));
    expect(spacing()).toHaveLength(1);
    expect(spacing()[0]?.fields).toMatchObject({ node: 'px02', previous: 'px01', gap_ms: 10_000, spacing_ms: 120_000 });
    expect(spacing()[0]?.message).toContain('px02 entered maintenance 10.0s after px01');
  });

  it('stays quiet when nodes enter maintenance beyond the spacing', () => {
    const { subject, spacing } = watcher();
    subject.observe(snapshot(0, FLEET, []));
    subject.observe(snapshot(1_000, FLEET, ['px01']));
    subject.observe(snapshot(200_000, FLEET, ['px02'])); // px01 back, px02 in: 199 s later
    subject.observe(snapshot(400_000, FLEET, ['px02', 'px03']));
    expect(spacing()).toHaveLength(0);
  });

  it('does not count a node coming back in maintenance after being down', () => {
    const { subject, spacing } = watcher();
    subject.observe(snapshot(0, FLEET, []));
    subject.observe(snapshot(1_000, FLEET, ['px01']));
    const down = snapshot(2_000, FLEET, []);
    (down.nodes as NodeVerdict[])[0] = verdict('px01', 'down', false);
    subject.observe(down);
    subject.observe(snapshot(3_000, FLEET, ['px01']));
    expect(spacing()).toHaveLength(0);
  });

  it('does not count nodes already in maintenance when first seen', () => {
    const { subject, spacing } = watcher();
    subject.observe(snapshot(0, FLEET, ['px01', 'px02']));
    subject.observe(snapshot(5_000, FLEET, ['px01', 'px02']));
    expect(spacing()).toHaveLength(0);
  });

  it('warns once per crossing below min_ready_capacity, counting nodes when capacity is unknown', () => {
    const { subject, capacity } = watcher();
    subject.observe(snapshot(0, FLEET, []));
    subject.observe(snapshot(1, FLEET, ['px01', 'px02', 'px03']));
    expect(capacity()).toHaveLength(0); // exactly half is not below half
    subject.observe(snapshot(2, FLEET, ['px01', 'px02', 'px03', 'px04']));
    subject.observe(snapshot(3, FLEET, ['px01', 'px02', 'px03', 'px04', 'px05']));
    expect(capacity()).toHaveLength(1);
    expect(capacity()[0]?.fields).toMatchObject({ ready_nodes: 2, nodes: 6, unit: 'nodes' });
    subject.observe(snapshot(4, FLEET, []));
    subject.observe(snapshot(5, FLEET, ['px01', 'px02', 'px03', 'px04']));
    expect(capacity()).toHaveLength(2);
  });

  it('weighs nodes by their capacity when every node\'s is known', () => {
    const big: Record<string, number> = { px01: 500, px02: 100, px03: 100 };
    const { subject, capacity } = watcher(DEFAULT_POLICY, (name) => big[name] ?? null);
    subject.observe(snapshot(0, ['px01', 'px02', 'px03'], ['px01'])); // 200 of 700 ready
    expect(capacity()).toHaveLength(1);
    expect(capacity()[0]?.fields).toMatchObject({ unit: 'max_media_tokens', ready_fraction: 0.286 });
  });
});

describe('maintenance warnings against the simulator', () => {
  it('fires the spacing warning when two nodes enter maintenance closer than maintenance_spacing', async () => {
    const sim = await startFleet({ nodes: 4 });
    const logger = recordingLogger();
    const { service, url } = await startServiceAgainst(sim, { logger, policy: { maintenance_spacing: '30s', min_ready_capacity: 0 } });
    await waitFor(async () => (await nodeJson(url, 'px04'))?.state === 'ready', 15000, 25, 'fleet ready');
    await sim.setPhase('px01', 'maintenance');
    await waitFor(async () => (await nodeJson(url, 'px01'))?.state === 'draining', 15000, 25, 'px01 draining');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sim.setPhase('px02', 'maintenance');
    await waitFor(async () => (await nodeJson(url, 'px02'))?.state === 'draining', 15000, 25, 'px02 draining');
    await waitFor(async () => (await counterValue(service.metrics.managementWarnings, { kind: 'spacing' })) >= 1, 10000, 25, 'spacing metric');
    const warning = logger.entries.find((entry) => entry.level === 'warn' && entry.fields.kind === 'spacing');
    expect(warning?.fields).toMatchObject({ node: 'px02', previous: 'px01' });
    expect(warning?.message).toContain('one node at a time');
  });

  it('stays quiet when the nodes are spaced beyond the setting, and warns when ready capacity gets low', async () => {
    const sim = await startFleet({ nodes: 3 });
    const { service, url } = await startServiceAgainst(sim, { policy: { maintenance_spacing: '300ms', min_ready_capacity: 0.5 } });
    await waitFor(async () => (await nodeJson(url, 'px03'))?.state === 'ready', 15000, 25, 'fleet ready');
    await sim.setPhase('px01', 'maintenance');
    await waitFor(async () => (await nodeJson(url, 'px01'))?.state === 'draining', 15000, 25, 'px01 draining');
    await new Promise((resolve) => setTimeout(resolve, 800));
    await sim.setPhase('px02', 'maintenance');
    await waitFor(async () => (await nodeJson(url, 'px02'))?.state === 'draining', 15000, 25, 'px02 draining');
    await waitFor(async () => (await counterValue(service.metrics.managementWarnings, { kind: 'capacity' })) >= 1, 10000, 25, 'capacity metric');
    expect(await counterValue(service.metrics.managementWarnings, { kind: 'spacing' })).toBe(0);
  });
});
