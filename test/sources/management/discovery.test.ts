// Discovery from the simulated Management Node: nodes appear and disappear without a restart, in every output.

import { connect } from 'node:net';
import { agentPort, askAgent } from '../../helpers/agent.js';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/service.js';

/** waitFor for checks that return a value or null. */
async function waitForValue<T>(check: () => Promise<T | null>, timeoutMs: number, everyMs: number, what: string): Promise<T> {
  return (await waitFor(check, timeoutMs, everyMs, what)) as T;
}
import { nodeJson, nodeNames, startFleet, startServiceAgainst } from './helpers.js';

async function eds(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/v3/discovery:endpoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ node: { id: 'test', cluster: 'test' }, resource_names: ['pexip'], type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment' }),
  });
  return { status: response.status, text: await response.text() };
}

async function text(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

describe('discovery from the Management Node', () => {
  it('probes a node added on the Management Node within one interval and drops a removed one from every output', async () => {
    const sim = await startFleet({ nodes: 3 });
    const { service, url } = await startServiceAgainst(sim, {
      discover: true,
      extra: { nginx: { upstreams: [{ name: 'pexip', file: 'pexip-upstream.conf', test_command: ['true'], reload_command: ['true'], settle: '0s', min_reload_interval: '0s' }] } },
    });
    await waitFor(async () => (await nodeNames(url)).join() === 'px01,px02,px03', 15000, 25, 'three discovered nodes');
    await waitFor(async () => (await nodeJson(url, 'px03'))?.state === 'ready', 15000, 25, 'px03 ready');
    expect((await nodeJson(url, 'px01'))?.source).toBe('discovered');

    // Added: probed within one management interval of being listed.
    const sweepsBefore = service.managementStatus()?.sweeps ?? 0;
    const added = await sim.addNode({ name: 'px04', load: 20 });
    await waitFor(() => sim.probeRequests('px04') > 0, 15000, 10, 'px04 probed');
    // The sweep in flight may have missed it; the next one lists it and the node is probed at once.
    expect((service.managementStatus()?.sweeps ?? 0) - sweepsBefore).toBeLessThanOrEqual(2);
    const px04 = await waitForValue(async () => {
      const json = await nodeJson(url, 'px04');
      return json?.state === 'ready' ? json : null;
    }, 15000, 25, 'px04 ready');
    expect(px04).toMatchObject({ address: added.address, port: added.port, weight: 80, source: 'discovered' });

    // Before removal px02 is in every output.
    const px02 = sim.node('px02');
    if (!px02) throw new Error('px02 missing');
    const port = agentPort(service);
    const agentUnknown = await askAgent(port, 'no-such-node');
    expect(await askAgent(port, 'px02')).not.toBe(agentUnknown);
    const healthUnknown = await text(`${url}/envoy/health/no-such-node`);
    const healthBefore = await text(`${url}/envoy/health/px02`);
    const edsBefore = await eds(url);
    expect(edsBefore.status).toBe(200);
    expect(edsBefore.text).toContain('"hostname":"px02"');
    expect(healthBefore.status).toBe(200);
    expect(healthUnknown.status).toBe(404);
    const nginxBefore = await waitForValue(async () => {
      const got = await text(`${url}/nginx/pexip.conf`);
      return got.status === 200 && got.text.includes(`:${added.port}`) ? got : null;
    }, 15000, 25, 'nginx rendering with px04');
    expect(nginxBefore.text).toContain(`:${px02.port}`);

    // Removed: gone from the API, the agent, Envoy and NGINX.
    await sim.removeNode('px02');
    await waitFor(async () => (await nodeJson(url, 'px02')) === null, 15000, 25, 'px02 removed');
    expect(await nodeNames(url)).toEqual(['px01', 'px03', 'px04']);
    expect(service.core.snapshot().has('px02')).toBe(false);
    expect(await askAgent(port, 'px02')).toBe(agentUnknown);
    expect((await text(`${url}/envoy/health/px02`)).status).toBe(404);
    await waitFor(async () => !(await eds(url)).text.includes('"hostname":"px02"'), 15000, 25, 'EDS without px02');
    expect((await eds(url)).text).toContain('"hostname":"px04"');
    await waitFor(async () => !(await text(`${url}/nginx/pexip.conf`)).text.includes(`:${px02.port}`), 15000, 25, 'NGINX without px02');
  });

  it('lets a static entry with the same name override the discovered one', async () => {
    const sim = await startFleet({ nodes: 2 });
    const px01 = sim.node('px01');
    if (!px01) throw new Error('px01 missing');
    const { url } = await startServiceAgainst(sim, {
      discover: true,
      statics: [{ name: 'px01', address: 'px01.example.test', port: px01.port, status_url: px01.statusUrl }],
    });
    await waitFor(async () => (await nodeNames(url)).length === 2, 15000, 25, 'both nodes');
    expect(await nodeJson(url, 'px01')).toMatchObject({ address: 'px01.example.test', source: 'static' });
    expect(await nodeJson(url, 'px02')).toMatchObject({ source: 'discovered' });
  });

  it('never empties the inventory when the Management Node fails', async () => {
    const sim = await startFleet({ nodes: 2 });
    const { service, url } = await startServiceAgainst(sim, { discover: true });
    await waitFor(async () => (await nodeNames(url)).length === 2, 15000, 25, 'both nodes');
    sim.setManagementFaults({ status: 500 });
    await waitFor(() => (service.managementStatus()?.failures ?? 0) >= 2, 15000, 10, 'two failed sweeps');
    expect(service.managementStatus()?.lastError?.code).toBe('DW_MANAGEMENT_HTTP');
    expect(await nodeNames(url)).toEqual(['px01', 'px02']);
  });
});
