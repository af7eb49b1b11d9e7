// Simulated Management Node writes: PATCH/PUT of configuration worker_vm maintenance, Basic auth, faults, and the node following.

import { describe, expect, it, onTestFinished } from 'vitest';
import { parseWriteBody, startScenario } from '../../src/simulator/index.js';
import type { ScenarioEvent } from '../../src/simulator/index.js';
import { get, startSim, statusUrl } from './helpers.js';

const CONFIG = '/api/admin/configuration/v1/worker_vm/';
const STATUS = '/api/admin/status/v1/worker_vm/';
const AUTH = { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}`, 'content-type': 'application/json' };

async function startAuthSim(nodes = 2) {
  return startSim({ nodes, management: { username: 'admin', password: 'pw' } });
}

function write(base: string, id: number, body: unknown, method = 'PATCH', headers: Record<string, string> = AUTH) {
  return get(`${base}${CONFIG}${id}/`, { method, headers, body: JSON.stringify(body) });
}

async function statusRecord(base: string, name: string): Promise<Record<string, unknown>> {
  const page = JSON.parse((await get(`${base}${STATUS}`, { headers: AUTH })).body) as { objects: Record<string, unknown>[] };
  const record = page.objects.find((o) => o.name === name);
  if (!record) throw new Error(`no status record for ${name}`);
  return record;
}

describe('management node writes', () => {
  it('puts a node in maintenance on PATCH: its status endpoint turns 503 and its status record follows', async () => {
    const sim = await startAuthSim();
    const base = sim.managementUrl ?? '';
    const px02 = sim.node('px02');
    expect(px02?.configurationId).toBe(2);
    const res = await write(base, 2, { maintenance_mode: true, maintenance_mode_reason: 'Upgrade (drainwatch plan p1)' });
    expect(res.status).toBe(202);
    expect(res.body).toBe('');
    expect((await get(statusUrl(sim, 'px02'))).status).toBe(503);
    expect((await get(statusUrl(sim, 'px01'))).status).toBe(200);
    expect(await statusRecord(base, 'px02')).toMatchObject({
      configuration_id: 2,
      maintenance_mode: true,
      maintenance_mode_reason: 'Upgrade (drainwatch plan p1)',
      media_load: 100,
    });
    const config = JSON.parse((await get(`${base}${CONFIG}2/`, { headers: AUTH })).body) as Record<string, unknown>;
    expect(config).toMatchObject({ maintenance_mode: true, maintenance_mode_reason: 'Upgrade (drainwatch plan p1)' });
    expect(sim.managementWrites()).toEqual([
      expect.objectContaining({ method: 'PATCH', configurationId: 2, node: 'px02', status: 202, body: { maintenance_mode: true, maintenance_mode_reason: 'Upgrade (drainwatch plan p1)' } }),
    ]);
  });

  it('takes a node out of maintenance on PATCH false, and accepts a whole-record PUT as Pexip\'s SDK sends it', async () => {
    const sim = await startAuthSim();
    const base = sim.managementUrl ?? '';
    await write(base, 1, { maintenance_mode: true, maintenance_mode_reason: 'swap disk' });
    expect(sim.node('px01')?.phase).toBe('maintenance');
    expect((await write(base, 1, { maintenance_mode: false })).status).toBe(202);
    expect(sim.node('px01')?.phase).toBe('up');
    expect((await get(statusUrl(sim, 'px01'))).status).toBe(200);
    const record = JSON.parse((await get(`${base}${CONFIG}1/`, { headers: AUTH })).body) as Record<string, unknown>;
    const put = await write(base, 1, { ...record, maintenance_mode: true, maintenance_mode_reason: 'via PUT' }, 'PUT');
    expect(put.status).toBe(204);
    expect(sim.node('px01')).toMatchObject({ phase: 'maintenance', reason: 'via PUT' });
  });

  it('answers 401 without valid Basic credentials and changes nothing', async () => {
    const sim = await startAuthSim();
    const base = sim.managementUrl ?? '';
    const none = await write(base, 1, { maintenance_mode: true }, 'PATCH', { 'content-type': 'application/json' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic/);
    const wrong = await write(base, 1, { maintenance_mode: true }, 'PATCH', { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` });
    expect(wrong.status).toBe(401);
    expect(sim.node('px01')?.phase).toBe('up');
    expect(sim.managementWrites().map((w) => w.status)).toEqual([401, 401]);
  });

  it('refuses bad bodies, unknown ids and writes to the status API', async () => {
    const sim = await startAuthSim();
    const base = sim.managementUrl ?? '';
    const bad = await write(base, 1, { maintenance_mode: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/maintenance_mode/);
    expect((await get(`${base}${CONFIG}1/`, { method: 'PATCH', headers: AUTH, body: '{not json' })).status).toBe(400);
    expect((await write(base, 99, { maintenance_mode: true })).status).toBe(404);
    const status = await get(`${base}${STATUS}1/`, { method: 'PATCH', headers: AUTH, body: '{"maintenance_mode": true}' });
    expect(status.status).toBe(405);
    expect(sim.nodes().map((n) => n.phase)).toEqual(['up', 'up']);
  });

  it('answers writes with the write_status fault while reads still work', async () => {
    const sim = await startAuthSim();
    const base = sim.managementUrl ?? '';
    sim.setManagementFaults({ write_status: 500 });
    const res = await write(base, 1, { maintenance_mode: true });
    expect(res.status).toBe(500);
    expect(res.body).toMatch(/Simulated HTTP 500/);
    expect((await get(`${base}${STATUS}`, { headers: AUTH })).status).toBe(200);
    expect(sim.node('px01')?.phase).toBe('up');
    expect(() => sim.setManagementFaults({ write_status: 42 } as never)).toThrow(/write_status/);
  });

  it('keeps the setting over a reboot: a node written into maintenance comes back in maintenance', async () => {
    const sim = await startAuthSim();
    const base = sim.managementUrl ?? '';
    await write(base, 2, { maintenance_mode: true, maintenance_mode_reason: 'upgrade' });
    await sim.setPhase('px02', 'rebooting');
    expect(await statusRecord(base, 'px02')).toMatchObject({ maintenance_mode: true });
    await sim.setPhase('px02', 'up');
    expect(sim.node('px02')).toMatchObject({ phase: 'maintenance', reason: 'upgrade' });
    expect((await get(statusUrl(sim, 'px02'))).status).toBe(503);
  });

  it('parses write bodies as a table', () => {
    expect(parseWriteBody('{"maintenance_mode": false}')).toMatchObject({ ok: true, change: { maintenance: false } });
    expect(parseWriteBody('{"maintenance_mode_reason": "x"}')).toMatchObject({ ok: true, change: { reason: 'x' } });
    expect(parseWriteBody('[]')).toMatchObject({ ok: false });
    expect(parseWriteBody(JSON.stringify({ maintenance_mode_reason: 'r'.repeat(251) }))).toMatchObject({ ok: false, error: expect.stringMatching(/250/) });
  });
});

describe('scenario calls end', () => {
  it('ends the calls of a node put in maintenance from outside, then upgrades it in external mode', async () => {
    const sim = await startSim({ nodes: [{ name: 'px01', calls: 6, load: 30 }, { name: 'px02', load: 30 }] });
    const scenario = startScenario(sim, { tickMs: 10, upgrade: 'external', callsEndMs: 200, rebootMs: 50, bootMs: 50, random: () => 0.5 });
    onTestFinished(() => scenario.stop());
    const events: ScenarioEvent[] = [];
    const upgraded = new Promise<ScenarioEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no upgrade; events: ${events.map((e) => e.message).join(' | ')}`)), 20_000);
      scenario.on('event', (event) => {
        events.push(event);
        if (event.type === 'upgraded' || event.type === 'error') {
          clearTimeout(timer);
          resolve(event);
        }
      });
    });
    const res = await write(sim.managementUrl ?? '', 1, { maintenance_mode: true, maintenance_mode_reason: 'upgrade' }, 'PATCH', { 'content-type': 'application/json' });
    expect(res.status).toBe(202);
    const event = await upgraded;
    expect(event).toMatchObject({ type: 'upgraded', node: 'px01' });
    // Calls ended before the reboot; the node comes back in maintenance because its setting survives.
    expect(events.map((e) => (e.type === 'phase' ? e.phase : e.type))).toEqual(['rebooting', 'booting', 'up', 'upgraded']);
    expect(sim.node('px01')).toMatchObject({ phase: 'maintenance', calls: 0 });
    expect(sim.node('px02')?.phase).toBe('up');
  });
});
