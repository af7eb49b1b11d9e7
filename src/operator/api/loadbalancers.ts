// GET /api/v1/loadbalancers: every load-balancer target with its status and per-node want/have (read-only, no token).

import { LoadBalancerSync } from '../../core/lb-sync.js';
import type { SyncStatus, TargetSync } from '../../core/lb-sync.js';
import type { Frontend, FrontendContext } from '../../frontends/frontend.js';

export type LoadBalancerNodeJson = { name: string; status: SyncStatus; want: string | null; have: string | null; since: string; reason: string };

export type LoadBalancerJson = {
  id: string;
  kind: TargetSync['kind'];
  target: string;
  backend?: string;
  status: SyncStatus;
  since: string;
  reason: string;
  nodes: LoadBalancerNodeJson[];
  /** Servers the load balancer has that drainwatch does not know. */
  unmanaged: string[];
  repairs: number;
  read_failures: number;
  read_at: string | null;
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Converts one target to its API JSON (snake_case, ISO timestamps).
 *
 * @example targetToJson(sync.get('nginx:pexip')!).status // 'in_sync'
 */
export function targetToJson(target: TargetSync): LoadBalancerJson {
  return {
    id: target.id,
    kind: target.kind,
    target: target.target,
    ...(target.backend === undefined ? {} : { backend: target.backend }),
    status: target.status,
    since: iso(target.since),
    reason: target.reason,
    nodes: target.nodes.map((node) => ({ name: node.name, status: node.status, want: node.want, have: node.have, since: iso(node.since), reason: node.reason })),
    unmanaged: [...target.unmanaged],
    repairs: target.repairs,
    read_failures: target.readFailures,
    read_at: target.readAt === null ? null : iso(target.readAt),
  };
}

/** The whole answer of GET /api/v1/loadbalancers. */
export function loadBalancersJson(sync: LoadBalancerSync, now: number): { generated_at: string; diverged: number; loadbalancers: LoadBalancerJson[] } {
  const loadbalancers = sync.snapshot().map(targetToJson);
  return { generated_at: iso(now), diverged: loadbalancers.filter((target) => target.status === 'diverged').length, loadbalancers };
}

/**
 * Registers GET /api/v1/loadbalancers and GET /api/v1/loadbalancers/{id} (id URL-encoded).
 *
 * @example curl -s localhost:9555/api/v1/loadbalancers | jq '.loadbalancers[] | {id, status}'
 */
export function createLoadBalancerApi(context: FrontendContext): Frontend {
  const { app } = context;
  // A context without the model (some unit tests) serves an empty list.
  const sync = context.sync ?? new LoadBalancerSync();
  app.get('/api/v1/loadbalancers', (c) => c.json(loadBalancersJson(sync, context.clock())));
  app.get('/api/v1/loadbalancers/:id', (c) => {
    const id = c.req.param('id');
    const target = sync.get(id);
    if (!target) return c.json({ error: `unknown load-balancer target "${id}"`, known: sync.ids() }, 404);
    return c.json(targetToJson(target));
  });
  return { name: 'loadbalancer-api', close: async () => undefined, destroy: async () => undefined };
}
