// Maintenance plan rules: order, spacing, guards, confirmation, drained, failures, cancel and resume — pure, with an injected clock.

import { describe, expect, it } from 'vitest';
import { MaintenanceEntries } from '../../src/core/maintenance-entries.js';
import {
  cancelPlan,
  checkPlanNodes,
  createPlan,
  maintenanceReason,
  recordWrite,
  resumePlan,
  stepPlan,
} from '../../src/core/maintenance-plan.js';
import type { Plan, PlanNodeObservation, PlanObservations } from '../../src/core/maintenance-plan.js';

const T0 = Date.UTC(2026, 11, 2, 4, 0, 0);
const SPACING = 3000;

type Fleet = Record<string, Partial<PlanNodeObservation>>;

function ready(): PlanNodeObservation {
  return { state: 'ready', management: { maintenance: false, at: T0 }, probe: { maintenance: false, at: T0 }, calls: 5, drainedSince: null, capacity: 120 };
}

function observe(now: number, fleet: Fleet, extra: Partial<PlanObservations> = {}): PlanObservations {
  const nodes = new Map<string, PlanNodeObservation>();
  for (const [name, o] of Object.entries(fleet)) nodes.set(name, { ...ready(), ...o });
  return { now, nodes, entries: [], minReadyCapacity: 0.25, ...extra };
}

/** A node as both sources show it after entering maintenance at `at`. */
function inMaintenance(at: number, calls: number, drainedSince: number | null = null): Partial<PlanNodeObservation> {
  return { state: 'draining', management: { maintenance: true, at }, probe: { maintenance: true, at }, calls, drainedSince };
}

function twoNodePlan(): Plan {
  return createPlan({
    id: 'p1',
    nodes: [{ name: 'px01', configurationId: 1 }, { name: 'px02', configurationId: 2 }],
    reason: 'upgrade to 36.1',
    spacingMs: SPACING,
    createdBy: 'alice from 127.0.0.1',
    now: T0,
  });
}

const fleetOf4: Fleet = { px01: {}, px02: {}, px03: {}, px04: {} };

describe('maintenance plan', () => {
  it('enters the first node at once with the plan id in the reason, and nothing else until it is confirmed', () => {
    const step = stepPlan(twoNodePlan(), observe(T0, fleetOf4));
    expect(step.actions).toEqual([{ type: 'enter', node: 'px01', configurationId: 1, reason: 'upgrade to 36.1 (drainwatch plan p1)' }]);
    expect(step.plan.nodes.map((n) => n.state)).toEqual(['entering', 'queued']);
    expect(step.plan.state).toBe('running');
    const again = stepPlan(step.plan, observe(T0 + 10_000, fleetOf4));
    expect(again.actions).toEqual([]);
  });

  it('confirms a written node only once both the status sweep and the probe after the write show maintenance', () => {
    let plan = stepPlan(twoNodePlan(), observe(T0, fleetOf4)).plan;
    plan = recordWrite(plan, 'px01', { ok: true, at: T0 + 100 }).plan;
    // The sweep before the write still says "not in maintenance"; the probe already says 503.
    const half = stepPlan(plan, observe(T0 + 500, { ...fleetOf4, px01: { state: 'draining', probe: { maintenance: true, at: T0 + 400 } } }));
    expect(half.plan.nodes[0]?.state).toBe('entering');
    const both = stepPlan(half.plan, observe(T0 + 900, { ...fleetOf4, px01: inMaintenance(T0 + 800, 4) }));
    expect(both.plan.nodes[0]).toMatchObject({ state: 'draining', calls: 4, enteredAt: T0 + 100, detail: 'in maintenance; 4 call(s) left' });
    expect(both.events.map((e) => e.kind)).toEqual(['entered']);
  });

  it('waits the spacing after the previous node was confirmed in maintenance, strictly in order', () => {
    let plan = stepPlan(twoNodePlan(), observe(T0, fleetOf4)).plan;
    plan = recordWrite(plan, 'px01', { ok: true, at: T0 + 100 }).plan;
    const fleet = { ...fleetOf4, px01: inMaintenance(T0 + 200, 4) };
    const early = stepPlan(plan, observe(T0 + 1000, fleet));
    expect(early.actions).toEqual([]);
    expect(early.plan.nodes[0]?.confirmedAt).toBe(T0 + 1000);
    expect(early.wakeAt).toBe(T0 + 1000 + SPACING);
    expect(early.plan.next).toEqual({ name: 'px02', notBefore: T0 + 1000 + SPACING });
    expect(early.plan.state).toBe('running');
    const justBefore = stepPlan(early.plan, observe(T0 + 1000 + SPACING - 1, fleet));
    expect(justBefore.actions).toEqual([]);
    const on = stepPlan(justBefore.plan, observe(T0 + 1000 + SPACING, fleet));
    expect(on.actions.map((a) => a.node)).toEqual(['px02']);
  });

  it('waits with a reason when entering the next node would leave too little ready capacity', () => {
    let plan = stepPlan(twoNodePlan(), observe(T0, { px01: {}, px02: {}, px03: {} })).plan;
    plan = recordWrite(plan, 'px01', { ok: true, at: T0 }).plan;
    const fleet = { px01: inMaintenance(T0, 2), px02: {}, px03: {} };
    plan = stepPlan(plan, observe(T0, fleet, { minReadyCapacity: 0.5 })).plan;
    const step = stepPlan(plan, observe(T0 + SPACING, fleet, { minReadyCapacity: 0.5 }));
    expect(step.actions).toEqual([]);
    expect(step.plan.state).toBe('waiting');
    expect(step.plan.waitingReason).toBe("entering px02 would leave 33% of the fleet's capacity on ready nodes, below policy.min_ready_capacity 50%");
    expect(step.events.map((e) => e.kind)).toEqual(['waiting']);
    // Capacity comes back (px01 left maintenance after its upgrade and is ready again): the plan goes on.
    const back = stepPlan(step.plan, observe(T0 + SPACING + 1, { px01: { ...inMaintenance(T0, 0, T0 + 50) }, px02: {}, px03: {}, px04: {} }, { minReadyCapacity: 0.5 }));
    expect(back.actions.map((a) => a.node)).toEqual(['px02']);
    expect(back.plan.waitingReason).toBeNull();
  });

  it('does not count a node as ready capacity once a source shows it in maintenance, before its verdict follows', () => {
    let plan = stepPlan(twoNodePlan(), observe(T0, { px01: {}, px02: {} })).plan;
    plan = recordWrite(plan, 'px01', { ok: true, at: T0 }).plan;
    // px01 answered 503 and the sweep shows it in maintenance; the snapshot still says ready.
    const fleet = { px01: { ...inMaintenance(T0, 2), state: 'ready' as const }, px02: {} };
    plan = stepPlan(plan, observe(T0, fleet, { minReadyCapacity: 0.5 })).plan;
    const step = stepPlan(plan, observe(T0 + SPACING, fleet, { minReadyCapacity: 0.5 }));
    expect(step.actions).toEqual([]);
    expect(step.plan.state).toBe('waiting');
    expect(step.plan.waitingReason).toMatch(/^entering px02 would leave 0% of the fleet's capacity on ready nodes/);
  });

  it('waits while another node entered maintenance outside the plan within the spacing', () => {
    const obs = observe(T0 + 5000, fleetOf4, { entries: [{ name: 'px04', at: T0 + 4000 }] });
    const step = stepPlan(twoNodePlan(), obs);
    expect(step.actions).toEqual([]);
    expect(step.plan.state).toBe('waiting');
    expect(step.plan.waitingReason).toMatch(/^px04 entered maintenance 1s ago outside this plan/);
    expect(step.wakeAt).toBe(T0 + 4000 + SPACING);
    const later = stepPlan(step.plan, { ...obs, now: T0 + 4000 + SPACING });
    expect(later.actions.map((a) => a.node)).toEqual(['px01']);
  });

  it('marks a node drained when the verdict says drained, with the time it took, and the plan done when all are', () => {
    let plan = stepPlan(twoNodePlan(), observe(T0, fleetOf4)).plan;
    plan = recordWrite(plan, 'px01', { ok: true, at: T0 }).plan;
    plan = stepPlan(plan, observe(T0 + 500, { ...fleetOf4, px01: inMaintenance(T0 + 400, 3) })).plan;
    const entering2 = stepPlan(plan, observe(T0 + 500 + SPACING, { ...fleetOf4, px01: inMaintenance(T0 + 400, 0, T0 + 2000) }));
    expect(entering2.plan.nodes[0]).toMatchObject({ state: 'drained', drainedAt: T0 + 2000, calls: 0, detail: 'drained 2s after entering maintenance' });
    expect(entering2.actions.map((a) => a.node)).toEqual(['px02']);
    plan = recordWrite(entering2.plan, 'px02', { ok: true, at: T0 + SPACING }).plan;
    const done = stepPlan(plan, observe(T0 + 9000, { ...fleetOf4, px01: inMaintenance(T0, 0, T0 + 2000), px02: inMaintenance(T0 + 8000, 0, T0 + 8500) }));
    expect(done.plan.nodes.map((n) => n.state)).toEqual(['drained', 'drained']);
    expect(done.plan.state).toBe('done');
    expect(done.plan.endedAt).toBe(T0 + 9000);
  });

  it('stops the plan when a write fails: the node is failed with the answer and nothing more is written', () => {
    const plan = stepPlan(twoNodePlan(), observe(T0, fleetOf4)).plan;
    const failed = recordWrite(plan, 'px01', { ok: false, at: T0 + 50, detail: 'HTTP 500: {"error": "Simulated HTTP 500 fault"}' });
    expect(failed.plan.state).toBe('failed');
    expect(failed.plan.nodes[0]).toMatchObject({ state: 'failed', detail: 'the Management Node did not take the write: HTTP 500: {"error": "Simulated HTTP 500 fault"}' });
    expect(failed.events.map((e) => e.kind)).toEqual(['node_failed', 'failed']);
    expect(stepPlan(failed.plan, observe(T0 + 60_000, fleetOf4)).actions).toEqual([]);
  });

  it('fails a written node that never shows maintenance within the confirmation timeout', () => {
    let plan = stepPlan(twoNodePlan(), observe(T0, fleetOf4)).plan;
    plan = recordWrite(plan, 'px01', { ok: true, at: T0 }).plan;
    const step = stepPlan(plan, observe(T0 + 10_000, fleetOf4, { confirmTimeoutMs: 10_000 }));
    expect(step.plan.nodes[0]?.detail).toBe("not seen in maintenance by the Management Node and the node's status endpoint within 10s of the write");
    expect(step.plan.state).toBe('failed');
  });

  it('cancels the queued nodes and leaves nodes already in maintenance alone', () => {
    let plan = stepPlan(twoNodePlan(), observe(T0, fleetOf4)).plan;
    plan = recordWrite(plan, 'px01', { ok: true, at: T0 }).plan;
    const cancelled = cancelPlan(plan, T0 + 1000, 'bob');
    expect(cancelled.plan.state).toBe('cancelled');
    expect(cancelled.plan.nodes.map((n) => [n.state, n.detail])).toEqual([
      ['entering', 'written; waiting for the next status sweep and probe to show maintenance'],
      ['queued', 'cancelled before entering'],
    ]);
    expect(cancelled.events[0]?.message).toBe('plan p1 cancelled by bob; not entered: px02');
    // Still followed for display, never written again.
    const later = stepPlan(cancelled.plan, observe(T0 + 60_000, { ...fleetOf4, px01: inMaintenance(T0 + 500, 0, T0 + 900) }));
    expect(later.actions).toEqual([]);
    expect(later.plan.nodes[0]?.state).toBe('drained');
    expect(later.plan.state).toBe('cancelled');
  });

  it('takes a write interrupted by a restart as sent: it is not written again', () => {
    const plan = stepPlan(twoNodePlan(), observe(T0, fleetOf4)).plan;
    const resumed = resumePlan(plan, T0 + 30_000);
    expect(resumed.plan.nodes[0]).toMatchObject({ state: 'entering', writtenAt: T0 });
    const step = stepPlan(resumed.plan, observe(T0 + 31_000, { ...fleetOf4, px01: inMaintenance(T0 + 30_500, 1) }));
    // px01 is confirmed without a second write; px02 follows once the spacing since then is over.
    expect(step.plan.nodes[0]?.state).toBe('draining');
    expect(step.actions).toEqual([]);
    const next = stepPlan(step.plan, observe(T0 + 31_000 + SPACING, { ...fleetOf4, px01: inMaintenance(T0 + 30_500, 1) }));
    expect(next.actions.map((a) => a.node)).toEqual(['px02']);
  });

  it('skips the write for a queued node someone else already put in maintenance', () => {
    const step = stepPlan(twoNodePlan(), observe(T0, { ...fleetOf4, px01: inMaintenance(T0 - 100_000, 2) }));
    expect(step.plan.nodes[0]).toMatchObject({ state: 'draining', writtenAt: null });
    expect(step.actions.map((a) => a.node)).toEqual(['px02']);
  });

  it('lists every problem of a requested node list', () => {
    const fleet = new Map([
      ['px01', { listed: true, configurationId: 1, maintenance: false }],
      ['px02', { listed: true, configurationId: 2, maintenance: true }],
      ['px03', { listed: false, configurationId: null, maintenance: false }],
    ]);
    expect(checkPlanNodes([], fleet)).toEqual(['"nodes" is empty: list the nodes to take out of service, in order']);
    expect(checkPlanNodes(['px01', 'px01', 'px02', 'px03', 'px09'], fleet)).toEqual([
      '"px01" is listed twice',
      '"px02" is already in maintenance',
      'the Management Node does not list "px03", so there is no configuration record to write',
      'unknown node "px09" (known: px01, px02, px03)',
    ]);
    expect(checkPlanNodes(['px01'], fleet)).toEqual([]);
  });

  it('remembers nodes entering maintenance between sweeps, not those already in it at the first sweep', () => {
    const entries = new MaintenanceEntries();
    entries.observe(new Map([['px01', true], ['px02', false]]), T0);
    expect(entries.entries(T0, SPACING)).toEqual([]);
    entries.observe(new Map([['px01', true], ['px02', true]]), T0 + 1000);
    expect(entries.entries(T0 + 1000, SPACING)).toEqual([{ name: 'px02', at: T0 + 1000 }]);
    expect(entries.entries(T0 + 1000 + SPACING, SPACING)).toEqual([]);
    expect(maintenanceReason({ id: 'p7', reason: 'swap' })).toBe('swap (drainwatch plan p7)');
  });

  it('remembers an entry from one changed node the way a whole-fleet observation does, and forgets a node that says nothing', () => {
    const entries = new MaintenanceEntries();
    entries.observe(new Map([['px01', false], ['px02', false]]), T0);
    entries.observeOne('px01', true, T0 + 500);
    expect(entries.entries(T0 + 500, SPACING)).toEqual([{ name: 'px01', at: T0 + 500 }]);
    // px02 goes down (its flag says nothing), then comes back in maintenance: not an entry seen by us.
    entries.observeOne('px02', null, T0 + 600);
    entries.observeOne('px02', true, T0 + 700);
    expect(entries.entries(T0 + 700, SPACING)).toEqual([{ name: 'px01', at: T0 + 500 }]);
  });
});
