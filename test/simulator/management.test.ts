// Simulated Management Node: paginated worker_vm status and configuration, Basic auth, faults, counting.

import { describe, expect, it } from 'vitest';
import { get, startSim } from './helpers.js';

type Envelope = {
  meta: { limit: number; next: string | null; offset: number; previous: string | null; total_count: number };
  objects: Record<string, unknown>[];
};

const STATUS = '/api/admin/status/v1/worker_vm/';
const CONFIG = '/api/admin/configuration/v1/worker_vm/';

describe('management node', () => {
  it('pages the worker_vm status over 3 pages by following next', async () => {
    const sim = await startSim({ nodes: 45 });
    const base = sim.managementUrl ?? '';
    const pages: Envelope[] = [];
    let next: string | null = STATUS;
    while (next !== null && pages.length < 10) {
      const res = await get(base + next);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      const page = JSON.parse(res.body) as Envelope;
      pages.push(page);
      next = page.meta.next;
    }
    expect(pages.map((p) => p.objects.length)).toEqual([20, 20, 5]);
    expect(pages.map((p) => p.meta)).toEqual([
      { limit: 20, next: `${STATUS}?limit=20&offset=20`, offset: 0, previous: null, total_count: 45 },
      { limit: 20, next: `${STATUS}?limit=20&offset=40`, offset: 20, previous: `${STATUS}?limit=20&offset=0`, total_count: 45 },
      { limit: 20, next: null, offset: 40, previous: `${STATUS}?limit=20&offset=20`, total_count: 45 },
    ]);
    const names = pages.flatMap((p) => p.objects.map((o) => o.name));
    expect(new Set(names).size).toBe(45);
    expect(names[0]).toBe('px01');
    expect(sim.managementRequests()).toBe(3);
  });

  it('honours limit and offset and rejects a malformed limit', async () => {
    const sim = await startSim({ nodes: 10, management: { pageSize: 4 } });
    const base = sim.managementUrl ?? '';
    const defaultPage = JSON.parse((await get(base + STATUS)).body) as Envelope;
    expect(defaultPage.meta.limit).toBe(4);
    const page = JSON.parse((await get(`${base}${STATUS}?limit=7&offset=7`)).body) as Envelope;
    expect(page.objects.map((o) => o.name)).toEqual(['px08', 'px09', 'px10']);
    expect(page.meta.next).toBeNull();
    const bad = await get(`${base}${STATUS}?limit=-1`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/limit/);
  });

  it('reports maintenance as Pexip does: the flag, the reason and a media load of 100', async () => {
    const sim = await startSim({ nodes: [{ name: 'px01', load: 37, calls: 5 }, { name: 'px02', load: 12 }] });
    await sim.setPhase('px02', 'maintenance', 'Software upgrade to 36.1');
    const page = JSON.parse((await get((sim.managementUrl ?? '') + STATUS)).body) as Envelope;
    const [px01, px02] = page.objects;
    expect(px01).toMatchObject({
      id: 1,
      name: 'px01',
      node_type: 'CONFERENCING',
      system_location: 'London',
      configuration_id: 1,
      maintenance_mode: false,
      maintenance_mode_reason: '',
      media_load: 37,
      media_tokens_used: 15,
      max_media_tokens: 120,
      signaling_count: 5,
      sync_status: 'SYNCED',
      upgrade_status: 'IDLE',
      version: '36.1.0.87634.0.0',
    });
    for (const key of ['max_audio_calls', 'max_sd_calls', 'max_hd_calls', 'max_full_hd_calls']) expect(px01?.[key]).toEqual(expect.any(Number));
    expect(px01?.last_updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(px02).toMatchObject({ maintenance_mode: true, maintenance_mode_reason: 'Software upgrade to 36.1', media_load: 100 });

    sim.setLoad('px01', 80);
    sim.setCalls('px01', 9);
    const single = JSON.parse((await get(`${sim.managementUrl}${STATUS}1/`)).body) as Record<string, unknown>;
    expect(single).toMatchObject({ name: 'px01', media_load: 80, signaling_count: 9, media_tokens_used: 27 });
  });

  it('serves the worker_vm configuration with each node address and its simulator-only port', async () => {
    const sim = await startSim({ nodes: 25, addressing: 'addresses' });
    const page = JSON.parse((await get(`${sim.managementUrl}${CONFIG}?limit=0`)).body) as Envelope;
    expect(page.meta).toMatchObject({ total_count: 25, next: null, limit: 0 });
    expect(page.objects).toHaveLength(25);
    expect(page.objects[2]).toEqual({
      id: 3,
      name: 'px03',
      hostname: 'px03',
      domain: 'sim.test',
      address: '127.1.0.3',
      node_type: 'CONFERENCING',
      system_location: '/api/admin/configuration/v1/system_location/1/',
      resource_uri: `${CONFIG}3/`,
      maintenance_mode: false,
      maintenance_mode_reason: '',
      x_sim_port: sim.sharedPort,
    });
  });

  it('demands Basic credentials when configured', async () => {
    const sim = await startSim({ nodes: 2, management: { username: 'admin', password: 's3cret' } });
    const url = (sim.managementUrl ?? '') + STATUS;
    const missing = await get(url);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Basic realm="Pexip"');
    const wrong = await get(url, { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const right = await get(url, { headers: { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` } });
    expect(right.status).toBe(200);
    expect(sim.managementRequests()).toBe(3);
  });

  it('injects malformed JSON, error statuses and latency, then recovers', async () => {
    const sim = await startSim({ nodes: 3 });
    const url = (sim.managementUrl ?? '') + STATUS;

    sim.setManagementFaults({ malformed_json: true });
    const malformed = await get(url);
    expect(malformed.status).toBe(200);
    expect(() => JSON.parse(malformed.body)).toThrow(SyntaxError);

    sim.setManagementFaults({ status: 500 });
    expect((await get(url)).status).toBe(500);

    sim.setManagementFaults({ latency_ms: 200 });
    const started = Date.now();
    expect((await get(url)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    sim.clearManagementFaults();
    expect(JSON.parse((await get(url)).body).meta.total_count).toBe(3);
    expect(() => sim.setManagementFaults({ status: 'bad' } as never)).toThrow(/faults.status/);
  });

  it('can be turned off', async () => {
    const sim = await startSim({ nodes: 1, management: false });
    expect(sim.managementUrl).toBeUndefined();
    expect(sim.managementRequests()).toBe(0);
  });
});
