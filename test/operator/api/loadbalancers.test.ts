// GET /api/v1/loadbalancers: the documented shape, one target by id, and 404 for an unknown one.

import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { LoadBalancerSync } from '../../../src/core/lb-sync.js';
import { createLoadBalancerApi } from '../../../src/operator/api/loadbalancers.js';
import type { FrontendContext } from '../../../src/frontends/frontend.js';

function rig() {
  const app = new Hono();
  const sync = new LoadBalancerSync({ now: () => Date.UTC(2026, 0, 1) });
  createLoadBalancerApi({ app, sync, clock: () => Date.UTC(2026, 0, 1, 0, 0, 5) } as unknown as FrontendContext);
  return { app, sync };
}

describe('GET /api/v1/loadbalancers', () => {
  it('lists every target with its status and per-node want, have, since and reason', async () => {
    const { app, sync } = rig();
    sync.register({ id: 'haproxy:/run/haproxy/admin.sock/pexip', kind: 'haproxy', target: '/run/haproxy/admin.sock', backend: 'pexip', budgetMs: 4000 });
    sync.report('haproxy:/run/haproxy/admin.sock/pexip', { nodes: [{ name: 'px01', want: 'drain', have: 'drain' }] });
    const response = await app.request('/api/v1/loadbalancers');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      generated_at: '2026-01-01T00:00:05.000Z',
      diverged: 0,
      loadbalancers: [{
        id: 'haproxy:/run/haproxy/admin.sock/pexip', kind: 'haproxy', target: '/run/haproxy/admin.sock', backend: 'pexip',
        status: 'in_sync', since: '2026-01-01T00:00:00.000Z', reason: '1 node in sync',
        nodes: [{ name: 'px01', status: 'in_sync', want: 'drain', have: 'drain', since: '2026-01-01T00:00:00.000Z', reason: '' }],
        unmanaged: [], repairs: 0, read_failures: 0, read_at: '2026-01-01T00:00:00.000Z',
      }],
    });
  });

  it('answers one target by its URL-encoded id and 404 for an unknown one', async () => {
    const { app, sync } = rig();
    sync.register({ id: 'nginx:pexip', kind: 'nginx', target: '/etc/nginx/u.conf', budgetMs: 3000 });
    expect(await (await app.request(`/api/v1/loadbalancers/${encodeURIComponent('nginx:pexip')}`)).json()).toMatchObject({ id: 'nginx:pexip', status: 'converging' });
    const missing = await app.request('/api/v1/loadbalancers/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'unknown load-balancer target "nope"', known: ['nginx:pexip'] });
  });
});
