// Real HAProxy 2.6 (haproxy/haproxy.cfg, agent mode) steered by drainwatch's agent-check server.

import { describe, expect, it } from 'vitest';
import { AGENT_INTER_MS, PROBE_INTERVAL_MS, get, openStream } from './harness.js';
import { startRig } from './setup.js';
import { requires } from '../../helpers/requires.js';

const DRAIN_BOUND_MS = PROBE_INTERVAL_MS + AGENT_INTER_MS + 1000;

const SUITE = 'HAProxy agent mode (haproxy/haproxy.cfg)';

describe.runIf(requires(SUITE, ['haproxy']))(SUITE, () => {
  it('gives ready nodes their load-derived weight and drains a node in maintenance within probe interval + agent-inter + 1 s', async () => {
    const rig = await startRig();
    // Until the Management Node poller feeds load, the test records it as the poller would.
    rig.setLoad('px01', 35);
    rig.setLoad('px02', 0);
    await rig.waitServer('px01', (stat, state) => stat.status === 'UP' && state.srv_uweight === '65', 10_000, 'weight 65');
    await rig.waitServer('px02', (_stat, state) => state.srv_uweight === '100', 10_000, 'weight 100');

    await rig.sim.setPhase('px02', 'maintenance', 'Software upgrade');
    const drainMs = await rig.waitServer('px02', (stat) => (stat.status ?? '').startsWith('DRAIN'), DRAIN_BOUND_MS + 2000, 'DRAIN');
    console.info(`agent mode: maintenance -> HAProxy DRAIN in ${drainMs} ms (bound ${DRAIN_BOUND_MS} ms)`);
    expect(drainMs).toBeLessThanOrEqual(DRAIN_BOUND_MS);
    const stat = (await rig.haproxy.stat('pexip')).get('px02');
    expect(stat?.status).toBe('DRAIN (agent)');
    expect(stat?.last_agt).toContain('Software upgrade');

    await rig.sim.setPhase('px02', 'up');
    // Leaving maintenance needs `rise` (2) good probes, then one agent-inter.
    const readyMs = await rig.waitServer('px02', (stat) => stat.status === 'UP', 2 * PROBE_INTERVAL_MS + AGENT_INTER_MS + 2000, 'READY again');
    console.info(`agent mode: maintenance over -> HAProxy UP/READY in ${readyMs} ms`);
    // The other nodes were never touched.
    const after = await rig.haproxy.stat('pexip');
    expect(after.get('px01')?.status).toBe('UP');
    expect(after.get('px03')?.status).toBe('UP');
  });

  it('keeps a TCP connection opened before the drain flowing while new connections go elsewhere', async () => {
    const rig = await startRig();
    const stream = await openStream(rig.frontendPort, 8);
    const node = stream.node;
    expect(node).toMatch(/^px0[123]$/);
    await rig.sim.setPhase(node, 'maintenance', 'Draining for upgrade');
    await rig.waitServer(node, (stat) => (stat.status ?? '').startsWith('DRAIN'), DRAIN_BOUND_MS + 2000, 'DRAIN');
    const linesAtDrain = stream.lines.length;
    const others = new Set<string>();
    for (let i = 0; i < 12; i += 1) others.add((await get(rig.frontendPort, '/')).node);
    expect(others.has(node)).toBe(false);
    expect(others.size).toBeGreaterThan(0);
    // The stream keeps delivering lines from the draining node after HAProxy shows DRAIN.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(stream.lines.length).toBeGreaterThan(linesAtDrain + 5);
    expect(stream.lines.every((line) => line.startsWith(`${node} `))).toBe(true);
    const stat = (await rig.haproxy.stat('pexip')).get(node);
    expect(stat?.status).toBe('DRAIN (agent)');
    expect(Number(stat?.scur)).toBeGreaterThanOrEqual(1);
    stream.close();
  });

  it('leaves a server drainwatch does not know alone, keeps the last state while drainwatch is down, and corrects it within one agent-inter after a restart', async () => {
    const rig = await startRig({ ghost: true });
    rig.setLoad('px01', 50);
    await rig.waitServer('px01', (_stat, state) => state.srv_uweight === '50', 10_000, 'weight 50');
    await rig.sim.setPhase('px02', 'maintenance', 'Upgrade');
    await rig.waitServer('px02', (stat) => stat.status === 'DRAIN (agent)', DRAIN_BOUND_MS + 2000, 'DRAIN');

    // The unknown server: an empty reply, so HAProxy changes nothing (UP, ready, weight 100).
    const ghost = (await rig.haproxy.stat('pexip')).get('pxghost');
    const ghostState = (await rig.haproxy.serversState('pexip')).get('pxghost');
    // (Its own TCP check may still be starting: "UP 1/2" is fine, nothing the agent did.)
    expect(ghost?.status).toMatch(/^UP/);
    expect(ghost?.agent_status).toBe('CHECKED');
    expect(ghost?.agent_desc).toBe('No status change');
    expect(ghost?.last_agt ?? '').not.toMatch(/drain|down|maint/i);
    expect(ghostState?.srv_admin_state).toBe('0');
    expect(ghostState?.srv_uweight).toBe('100');
    expect(Number(ghost?.chkdown)).toBe(0);

    // drainwatch gone: HAProxy keeps the last state it was told, for several agent-inters.
    await rig.dw.close();
    await rig.sim.setPhase('px02', 'up');
    await new Promise((resolve) => setTimeout(resolve, 3 * AGENT_INTER_MS));
    const kept = await rig.haproxy.stat('pexip');
    const keptState = await rig.haproxy.serversState('pexip');
    expect(kept.get('px02')?.status).toBe('DRAIN (agent)');
    expect(keptState.get('px01')?.srv_uweight).toBe('50');
    expect(kept.get('px01')?.status).toBe('UP');

    // Restarted (same agent port): the first probe decides, and the next agent check says so.
    const started = Date.now();
    await rig.restartDrainwatch();
    const readyMs = await rig.waitServer('px02', (stat) => stat.status === 'UP', AGENT_INTER_MS + 2000, 'READY after restart');
    const total = Date.now() - started;
    console.info(`agent mode: drainwatch restarted -> px02 READY in ${total} ms (start ${total - readyMs} ms, agent-inter ${AGENT_INTER_MS} ms)`);
    expect(readyMs).toBeLessThanOrEqual(AGENT_INTER_MS + 500);
    // px01 has no load record in the new process: full weight again.
    await rig.waitServer('px01', (_stat, state) => state.srv_uweight === '100', AGENT_INTER_MS + 500, 'weight 100 after restart');
    const ghostAfter = (await rig.haproxy.serversState('pexip')).get('pxghost');
    expect(ghostAfter?.srv_admin_state).toBe('0');
    expect(ghostAfter?.srv_uweight).toBe('100');
  });
});
