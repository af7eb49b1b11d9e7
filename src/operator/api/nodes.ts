// The JSON API: liveness, readiness and verdicts (GET /healthz, /readyz, /api/v1/nodes[/{name}]).

import { nodeToJson } from './node-json.js';
import type { Frontend, FrontendContext } from '../../frontends/frontend.js';

export type AdminApiOptions = { clock?: () => number };

/** Registers the read-only API routes on the shared app. */
export function createAdminApi(context: FrontendContext, options: AdminApiOptions = {}): Frontend {
  const { app, source } = context;
  const clock = options.clock ?? context.clock;

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    const snapshot = source.snapshot();
    const waiting = snapshot.nodes.filter((node) => node.probe === null && node.override === null).map((node) => node.name);
    if (waiting.length > 0) return c.json({ status: 'waiting', waiting_for: waiting }, 503);
    return c.json({ status: 'ready', nodes: snapshot.nodes.length, version: snapshot.version });
  });

  app.get('/api/v1/nodes', (c) => {
    const snapshot = source.snapshot();
    const now = clock();
    return c.json({
      version: snapshot.version,
      generated_at: new Date(now).toISOString(),
      guard: { active: snapshot.guard.active, down: snapshot.guard.downCount, total: snapshot.guard.total },
      nodes: snapshot.nodes.map((node) => nodeToJson(node, now, context.sync?.applied(node.name) ?? {})),
    });
  });

  app.get('/api/v1/nodes/:name', (c) => {
    const name = c.req.param('name');
    const verdict = source.snapshot().get(name);
    if (!verdict) return c.json({ error: `unknown node "${name}"`, known: source.snapshot().names() }, 404);
    return c.json(nodeToJson(verdict, clock(), context.sync?.applied(name) ?? {}));
  });

  return { name: 'admin-api', close: async () => undefined, destroy: async () => undefined };
}
