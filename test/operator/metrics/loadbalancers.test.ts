// Load-balancer sync metrics: one status series set per target, diverged node counts, and totals that only go up.

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LoadBalancerSync } from '../../../src/core/lb-sync.js';
import { registerLoadBalancerMetrics } from '../../../src/operator/metrics/loadbalancers.js';

async function scrape(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line.startsWith('drainwatch_loadbalancer_'));
}

describe('registerLoadBalancerMetrics', () => {
  it('exposes status, diverged nodes, repairs and read failures per target, and drops removed targets', async () => {
    const registry = new Registry();
    const sync = new LoadBalancerSync({ now: () => 0 });
    registerLoadBalancerMetrics(registry, sync);
    sync.register({ id: 'nginx:pexip', kind: 'nginx', target: '/etc/nginx/u.conf', budgetMs: 1000 });
    sync.report('nginx:pexip', { nodes: [{ name: 'px01', want: 'down', have: 'weight=100', status: 'diverged' }] });
    sync.repaired('nginx:pexip', 2);
    sync.fail('nginx:pexip', 'unreachable', 'EISDIR');
    const lines = await scrape(registry);
    expect(lines).toContain('drainwatch_loadbalancer_status{kind="nginx",target="nginx:pexip",status="unreachable"} 1');
    expect(lines).toContain('drainwatch_loadbalancer_status{kind="nginx",target="nginx:pexip",status="in_sync"} 0');
    expect(lines).toContain('drainwatch_loadbalancer_repairs_total{kind="nginx",target="nginx:pexip"} 2');
    expect(lines).toContain('drainwatch_loadbalancer_read_failures_total{kind="nginx",target="nginx:pexip"} 1');
    sync.report('nginx:pexip', { nodes: [{ name: 'px01', want: 'down', have: 'weight=100', status: 'diverged' }] });
    sync.repaired('nginx:pexip');
    const again = await scrape(registry);
    expect(again).toContain('drainwatch_loadbalancer_diverged_nodes{kind="nginx",target="nginx:pexip"} 1');
    expect(again).toContain('drainwatch_loadbalancer_repairs_total{kind="nginx",target="nginx:pexip"} 3');
    sync.unregister('nginx:pexip');
    expect((await scrape(registry)).filter((line) => line.includes('nginx:pexip'))).toEqual([]);
  });
});
