// Control API: list, change, add and remove nodes over HTTP, with 400s for bad input.

import { describe, expect, it } from 'vitest';
import { failure, get, startSim, statusUrl } from './helpers.js';

const json = (method: string, body: unknown): { method: string; body: string; headers: Record<string, string> } => ({
  method,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});

describe('control api', () => {
  it('lists nodes with their state and counters', async () => {
    const sim = await startSim({ nodes: 2, control: true });
    await get(statusUrl(sim, 'px01'));
    const res = await get(`${sim.controlUrl}/nodes`);
    expect(res.status).toBe(200);
    const nodes = JSON.parse(res.body) as Record<string, unknown>[];
    expect(nodes).toHaveLength(2);
    expect(nodes[0]).toMatchObject({
      name: 'px01',
      address: '127.0.0.1',
      port: sim.node('px01')?.port,
      status_url: statusUrl(sim, 'px01'),
      phase: 'up',
      reason: null,
      load: 0,
      calls: 0,
      faults: {},
      probe_requests: 1,
      other_requests: 0,
    });
  });

  it('changes a node phase with PATCH and the node answers accordingly', async () => {
    const sim = await startSim({ nodes: 2, control: true });
    const res = await get(`${sim.controlUrl}/nodes/px02`, json('PATCH', { phase: 'maintenance', reason: 'Azure maintenance', load: 40, calls: 3 }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: 'px02', phase: 'maintenance', reason: 'Azure maintenance', load: 40, calls: 3 });
    const probe = await get(statusUrl(sim, 'px02'));
    expect(probe.status).toBe(503);
    expect(JSON.parse(probe.body).result).toBe('Azure maintenance');

    await get(`${sim.controlUrl}/nodes/px02`, json('PATCH', { phase: 'down' }));
    expect((await failure(statusUrl(sim, 'px02'))).code).toBe('ECONNREFUSED');

    await get(`${sim.controlUrl}/nodes/px02`, json('PATCH', { phase: 'up', faults: { status: 500 } }));
    expect((await get(statusUrl(sim, 'px02'))).status).toBe(500);
    await get(`${sim.controlUrl}/nodes/px02`, json('PATCH', { faults: null }));
    expect((await get(statusUrl(sim, 'px02'))).status).toBe(200);
  });

  it('rejects bad input with 400 and a clear message, and unknown nodes with 404', async () => {
    const sim = await startSim({ nodes: 1, control: true });
    const url = `${sim.controlUrl}/nodes/px01`;
    const cases: [unknown, RegExp][] = [
      [{ phase: 'sleeping' }, /"phase" must be one of up, maintenance, booting, rebooting, down/],
      [{ load: 101 }, /"load" must be an integer from 0 to 100/],
      [{ calls: -2 }, /"calls"/],
      [{ faults: { latency_ms: 'slow' } }, /faults.latency_ms/],
      [{ faults: { explode: true } }, /unknown field/],
      [{ colour: 'red' }, /unknown field\(s\) "colour"/],
      [{ reason: 'why' }, /only applies in maintenance/],
      [{ phase: 'up', reason: 'why' }, /only applies to phase "maintenance"/],
      ['{not json', /not valid JSON/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await get(url, json('PATCH', body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.parse(res.body).error).toMatch(message);
    }
    expect(sim.node('px01')).toMatchObject({ phase: 'up', load: 0, faults: {} });

    expect((await get(`${sim.controlUrl}/nodes/px09`, json('PATCH', { phase: 'up' }))).status).toBe(404);
    expect((await get(`${sim.controlUrl}/nodes/px09`)).status).toBe(404);
    const wrongMethod = await get(`${sim.controlUrl}/nodes`, { method: 'PUT' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, POST');
  });

  it('adds and removes nodes, resets counters and sets Management Node faults', async () => {
    const sim = await startSim({ nodes: 1, control: true });
    const created = await get(`${sim.controlUrl}/nodes`, json('POST', { name: 'px42', phase: 'maintenance' }));
    expect(created.status).toBe(201);
    const view = JSON.parse(created.body) as { status_url: string };
    expect((await get(view.status_url)).status).toBe(503);
    expect((await get(`${sim.controlUrl}/nodes`, json('POST', { name: 'px42' }))).status).toBe(409);
    expect((await get(`${sim.controlUrl}/nodes`, json('POST', { name: 'bad name!' }))).status).toBe(400);

    expect(sim.probeRequests('px42')).toBe(1);
    expect((await get(`${sim.controlUrl}/counters/reset`, { method: 'POST' })).status).toBe(204);
    expect(sim.probeRequests('px42')).toBe(0);

    expect((await get(`${sim.controlUrl}/nodes/px42`, { method: 'DELETE' })).status).toBe(204);
    expect((await failure(view.status_url)).code).toBe('ECONNREFUSED');
    expect((await get(`${sim.controlUrl}/nodes/px42`, { method: 'DELETE' })).status).toBe(404);

    const faulted = await get(`${sim.controlUrl}/management`, json('PATCH', { faults: { status: 503 } }));
    expect(faulted.status).toBe(200);
    expect(JSON.parse(faulted.body)).toMatchObject({ faults: { status: 503 } });
    expect((await get(`${sim.managementUrl}/api/admin/status/v1/worker_vm/`)).status).toBe(503);
    expect((await get(`${sim.controlUrl}/management`, json('PATCH', { faults: { status: 'x' } }))).status).toBe(400);
  });
});
