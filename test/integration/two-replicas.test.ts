// Two drainwatch replicas (one per load-balancer host) on one fleet: a plan on one is seen by the other, which refuses a second plan meanwhile.

import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/service.js';
import { startFleet } from '../sources/management/helpers.js';
import { api, planWhere, ready, startDrainwatch } from '../operator/api/maintenance-helpers.js';

const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 400;

describe('two replicas', () => {
  it('sees the other replica\'s plan as maintenance within one probe interval and refuses a second plan while it enters nodes', async () => {
    const sim = await startFleet({ nodes: [{ name: 'px01', calls: 2 }, { name: 'px02', calls: 2 }, { name: 'px03' }, { name: 'px04' }, { name: 'px05' }] });
    const probe = { interval: `${PROBE_INTERVAL_MS}ms`, timeout: `${PROBE_TIMEOUT_MS}ms`, max_age: '5s', rise: 1, fall: 3, jitter: 0 };
    const a = await startDrainwatch(sim, { probe });
    const b = await startDrainwatch(sim, { probe });
    await Promise.all([ready(a, 5), ready(b, 5)]);

    expect((await api(a, 'POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], reason: 'upgrade', spacing: '3s' })).status).toBe(202);
    await planWhere(a, (p) => p.nodes[0]?.state === 'draining', 'px01 draining on replica A');
    const written = sim.managementWrites().find((w) => w.node === 'px01');
    expect(written?.status).toBe(202);

    // Replica B has no plan; it sees px01 through its own probing (the node answers 503).
    const seen = await waitFor(async () => {
      const node = (await (await fetch(`${b.url}/api/v1/nodes/px01`)).json()) as { state: string; since: string };
      return node.state === 'draining' ? node : null;
    }, 5000, 25, 'px01 draining on replica B') as { state: string; since: string };
    // The first probe after the write is decisive: at most one interval, plus that probe's own deadline.
    expect(Date.parse(seen.since) - (written?.at ?? 0)).toBeLessThanOrEqual(PROBE_INTERVAL_MS + PROBE_TIMEOUT_MS);

    const second = await api(b, 'POST', '/api/v1/maintenance', { nodes: ['px03'] });
    expect(second.status).toBe(409);
    expect((second.json.problems as string[])[0]).toMatch(/^another node entered maintenance within the spacing \(px01 \d+s ago\)/);
    expect(sim.managementWrites().filter((w) => w.node === 'px03')).toEqual([]);
    expect((await api(b, 'GET', '/api/v1/maintenance', undefined, null)).json.plan).toBeNull();
  });
});
