// Load-balancer sync metrics: status, diverged nodes, repairs and read failures per target, read from the sync model at scrape time.

import { Counter, Gauge } from 'prom-client';
import { SYNC_STATUSES } from '../../core/lb-sync.js';
import type { Registry } from 'prom-client';
import type { LoadBalancerSync } from '../../core/lb-sync.js';

/**
 * Registers the drainwatch_loadbalancer_* families on `registry`, computed from `sync` on each
 * scrape. Labels are `kind` and `target` (the target id): bounded, since targets come from the
 * config or from the model's bounded set of Envoy clients; a removed target's series go too.
 *
 * @example registerLoadBalancerMetrics(metrics.registry, sync);
 */
export function registerLoadBalancerMetrics(registry: Registry, sync: LoadBalancerSync): void {
  new Gauge({
    name: 'drainwatch_loadbalancer_status',
    help: 'Sync status of each load-balancer target: 1 on the series whose status label is current (in_sync, converging, diverged, unreachable).',
    labelNames: ['kind', 'target', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const target of sync.snapshot()) {
        for (const each of SYNC_STATUSES) this.set({ kind: target.kind, target: target.id, status: each }, target.status === each ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'drainwatch_loadbalancer_diverged_nodes',
    help: 'Nodes a load-balancer target holds differently from the verdicts past its budget.',
    labelNames: ['kind', 'target'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const target of sync.snapshot()) {
        this.set({ kind: target.kind, target: target.id }, target.nodes.filter((node) => node.status === 'diverged').length);
      }
    },
  });
  totals(registry, sync, 'drainwatch_loadbalancer_repairs_total', 'Repairs drainwatch made on a load-balancer target (push-mode re-asserts, NGINX file rewrites).', (target) => target.repairs);
  totals(registry, sync, 'drainwatch_loadbalancer_read_failures_total', 'Failed read-backs of a load-balancer target (socket refused, timeout, garbage, unreadable file).', (target) => target.readFailures);
}

type Target = ReturnType<LoadBalancerSync['snapshot']>[number];

// The model keeps running totals per target; a counter only goes up, so each scrape adds what is new.
function totals(registry: Registry, sync: LoadBalancerSync, name: string, help: string, read: (target: Target) => number): void {
  const seen = new Map<string, { kind: string; value: number }>();
  new Counter({
    name,
    help,
    labelNames: ['kind', 'target'] as const,
    registers: [registry],
    collect() {
      const present = new Set<string>();
      for (const target of sync.snapshot()) {
        present.add(target.id);
        const labels = { kind: target.kind, target: target.id };
        const value = read(target);
        const before = seen.get(target.id)?.value ?? 0;
        if (!seen.has(target.id)) this.inc(labels, 0);
        if (value > before) this.inc(labels, value - before);
        seen.set(target.id, { kind: target.kind, value: Math.max(value, before) });
      }
      for (const [id, { kind }] of seen) {
        if (present.has(id)) continue;
        this.remove({ kind, target: id });
        seen.delete(id);
      }
    },
  });
}
