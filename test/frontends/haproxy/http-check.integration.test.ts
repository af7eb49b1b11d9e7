// Real HAProxy 2.6 (haproxy/haproxy-http.cfg): cookie persistence survives a drain, new clients go elsewhere.

import { describe, expect, it } from 'vitest';
import { AGENT_INTER_MS, PROBE_INTERVAL_MS, get } from './harness.js';
import { startRig } from './setup.js';
import { requires } from '../../helpers/requires.js';

const SUITE = 'HAProxy http variant with cookie persistence (haproxy/haproxy-http.cfg)';

describe.runIf(requires(SUITE, ['haproxy']))(SUITE, () => {
  it('sends a request carrying the persistence cookie to its draining node and new clients elsewhere', async () => {
    const rig = await startRig({ example: 'haproxy-http.cfg' });
    const first = await get(rig.frontendPort, '/');
    expect(first.status).toBe(200);
    const cookie = String(first.headers['set-cookie'] ?? '').match(/PEXIP_NODE=([^;]+)/)?.[1];
    expect(cookie).toBe(first.node);
    const node = first.node;

    await rig.sim.setPhase(node, 'maintenance', 'Upgrade');
    await rig.waitServer(node, (stat) => stat.status === 'DRAIN (agent)', PROBE_INTERVAL_MS + AGENT_INTER_MS + 3000, 'DRAIN');
    // HAProxy's own HTTP check accepts the 503 of maintenance: the node is not DOWN.
    expect((await rig.haproxy.stat('pexip')).get(node)?.check_status).toMatch(/^L7OK/);

    for (let i = 0; i < 4; i += 1) {
      const sticky = await get(rig.frontendPort, '/', { cookie: `PEXIP_NODE=${node}` });
      expect(sticky.status).toBe(200);
      expect(sticky.node).toBe(node);
    }
    for (let i = 0; i < 6; i += 1) {
      const fresh = await get(rig.frontendPort, '/');
      expect(fresh.status).toBe(200);
      expect(fresh.node).not.toBe(node);
    }
  });
});
