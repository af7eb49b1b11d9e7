// Maintenance plans end to end against the simulator: opt-in, auth, spacing, drained, guards, cancel, exit, failed writes, restart.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFleet } from '../../sources/management/helpers.js';
import { api, plan, planWhere, ready, scratchDir, startDrainwatch } from './maintenance-helpers.js';
import type { PlanJson } from './maintenance-helpers.js';
import type { Simulator } from '../../../src/simulator/index.js';

const writesFor = (sim: Simulator, name: string) => sim.managementWrites().filter((w) => w.node === name && w.body?.maintenance_mode === true);

describe('maintenance plans against the simulator', () => {
  it('refuses with 403 while writes are off and sends nothing to the Management Node', async () => {
    const sim = await startFleet({ nodes: 3 });
    const dw = await startDrainwatch(sim, { writes: false });
    await ready(dw, 3);
    const res = await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px01'] });
    expect(res.status).toBe(403);
    expect(res.json.error).toMatch(/maintenance_writes: true/);
    expect((await api(dw, 'POST', '/api/v1/maintenance/exit', { nodes: ['px01'] })).status).toBe(403);
    expect(sim.managementWrites()).toEqual([]);
    expect(await plan(dw)).toBeNull();
  });

  it('refuses with 401 without a token, with writes on', async () => {
    const sim = await startFleet({ nodes: 3 });
    const dw = await startDrainwatch(sim);
    expect((await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px01'] }, null)).status).toBe(401);
    expect((await api(dw, 'DELETE', '/api/v1/maintenance', undefined, 'wrong')).status).toBe(401);
    expect(sim.managementWrites()).toEqual([]);
  });

  it('answers 400 listing unknown, unlisted and already-in-maintenance nodes', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01' }, { name: 'px02', phase: 'maintenance' }, { name: 'px03' }] });
    const dw = await startDrainwatch(sim);
    await ready(dw, 3);
    const res = await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px02', 'px09', 'px01'] });
    expect(res.status).toBe(400);
    expect(res.json.problems).toEqual(['"px02" is already in maintenance', 'unknown node "px09" (known: px01, px02, px03)']);
    expect(sim.managementWrites()).toEqual([]);
  });

  it('enters two nodes 3 s apart with the reason, drains them in drainwatch, and marks each drained at 0 calls', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 3, load: 30 }, { name: 'px02', calls: 2, load: 30 }, { name: 'px03', load: 10 }, { name: 'px04', load: 10 }] });
    const dw = await startDrainwatch(sim);
    await ready(dw, 4);
    const started = await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], reason: 'upgrade to 36.1', spacing: '3s' });
    expect(started.status).toBe(202);
    const id = (started.json.plan as PlanJson).id;
    expect((await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px03'] })).status).toBe(409);
    const draining = await planWhere(dw, (p) => p.nodes[0]?.state === 'draining', 'px01 draining');
    expect(draining.nodes[0]?.calls).toBe(3);
    expect(sim.node('px01')).toMatchObject({ phase: 'maintenance', reason: `upgrade to 36.1 (drainwatch plan ${id})` });
    const verdict = (await (await fetch(`${dw.url}/api/v1/nodes/px01`)).json()) as { state: string };
    expect(verdict.state).toBe('draining');
    sim.setCalls('px01', 0);
    await planWhere(dw, (p) => p.nodes[0]?.state === 'drained', 'px01 drained');
    await planWhere(dw, (p) => p.nodes[1]?.state === 'draining', 'px02 draining');
    const [first, second] = sim.managementWrites();
    expect([first?.node, second?.node]).toEqual(['px01', 'px02']);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(3000);
    expect(second?.body).toEqual({ maintenance_mode: true, maintenance_mode_reason: `upgrade to 36.1 (drainwatch plan ${id})` });
    sim.setCalls('px02', 0);
    const done = await planWhere(dw, (p) => p.state === 'done', 'plan done');
    expect(done.nodes.map((n) => n.state)).toEqual(['drained', 'drained']);
    expect(sim.managementWrites()).toHaveLength(2);
    const metrics = await (await fetch(`${dw.url}/metrics`)).text();
    expect(metrics).toMatch(/drainwatch_maintenance_writes_total\{action="enter",result="ok"\} 2/);
    expect(metrics).toMatch(/drainwatch_maintenance_plans_total\{result="done"\} 1/);
  });

  it('waits on the capacity guard instead of entering the next node', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 2 }, { name: 'px02', calls: 2 }] });
    const dw = await startDrainwatch(sim, { policy: { min_ready_capacity: 0.5 } });
    await ready(dw, 2);
    expect((await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], spacing: '0s' })).status).toBe(202);
    const waiting = await planWhere(dw, (p) => p.state === 'waiting', 'plan waiting');
    expect(waiting.waiting_reason).toMatch(/^entering px02 would leave 0% of the fleet's capacity on ready nodes/);
    expect(waiting.nodes.map((n) => n.state)).toEqual(['draining', 'queued']);
    expect(writesFor(sim, 'px02')).toEqual([]);
  });

  it('cancels the queued nodes and takes a node out of maintenance on exit', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 2 }, { name: 'px02', calls: 2 }, { name: 'px03' }] });
    const dw = await startDrainwatch(sim);
    await ready(dw, 3);
    await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], spacing: '10m' });
    await planWhere(dw, (p) => p.nodes[0]?.state === 'draining', 'px01 draining');
    const cancelled = await api(dw, 'DELETE', '/api/v1/maintenance');
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.plan).toMatchObject({ state: 'cancelled', nodes: [{ name: 'px01', state: 'draining' }, { name: 'px02', state: 'queued', detail: 'cancelled before entering' }] });
    expect(sim.node('px01')?.phase).toBe('maintenance');
    expect((await api(dw, 'DELETE', '/api/v1/maintenance')).status).toBe(404);
    const exit = await api(dw, 'POST', '/api/v1/maintenance/exit', { nodes: ['px01'] });
    expect(exit).toEqual({ status: 200, json: { ok: true, results: [{ name: 'px01', ok: true, detail: 'maintenance_mode set to false' }] } });
    expect(sim.node('px01')?.phase).toBe('up');
    expect(writesFor(sim, 'px02')).toEqual([]);
  });

  it('fails the node with the Management Node\'s answer after bounded retries and writes nothing more', async () => {
    const sim = await startFleet({ nodes: 3 });
    const dw = await startDrainwatch(sim);
    await ready(dw, 3);
    sim.setManagementFaults({ write_status: 500 });
    await api(dw, 'POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], spacing: '0s' });
    const failed = await planWhere(dw, (p) => p.state === 'failed', 'plan failed', 20_000);
    expect(failed.nodes[0]).toMatchObject({ state: 'failed', detail: expect.stringContaining('HTTP 500: {"error":"Simulated HTTP 500 fault"} (gave up after 4 attempts)') });
    expect(failed.nodes[1]?.state).toBe('queued');
    expect(sim.managementWrites().map((w) => [w.node, w.status])).toEqual([['px01', 500], ['px01', 500], ['px01', 500], ['px01', 500]]);
    expect(sim.node('px01')?.phase).toBe('up');
  });

  it('resumes a plan after a restart without writing a node twice', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 2 }, { name: 'px02', calls: 2 }, { name: 'px03' }, { name: 'px04' }] });
    const stateFile = join(scratchDir(), 'state.json');
    const first = await startDrainwatch(sim, { stateFile });
    await ready(first, 4);
    const started = await api(first, 'POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], spacing: '2s' });
    await planWhere(first, (p) => p.nodes[0]?.state === 'draining', 'px01 draining');
    await first.close();
    const second = await startDrainwatch(sim, { stateFile });
    const resumed = await planWhere(second, (p) => p.nodes[1]?.state === 'draining', 'px02 draining after the restart');
    expect(resumed.id).toBe((started.json.plan as PlanJson).id);
    expect(writesFor(sim, 'px01')).toHaveLength(1);
    expect(writesFor(sim, 'px02')).toHaveLength(1);
  });
});
