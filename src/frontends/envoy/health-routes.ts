// Envoy active health checks answered on each node's behalf: GET/HEAD /envoy/health (by Host) and /envoy/health/{name}.

import { healthAnswer, hostToName, unknownNodeBody } from './health-answer.js';
import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { NodeVerdict, Snapshot } from '../../core/snapshot.js';
import type { Frontend, FrontendContext } from '../frontend.js';

export const ENVOY_HEALTH_PATH = '/envoy/health';

/** Finds a node by exact name, else by case-insensitive name (Host headers are case-insensitive). */
function lookup(snapshot: Snapshot, name: string): NodeVerdict | undefined {
  const exact = snapshot.get(name);
  if (exact || name === '') return exact;
  const lower = name.toLowerCase();
  const matches = snapshot.nodes.filter((node) => node.name.toLowerCase() === lower);
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * Registers the health routes on the shared app (HEAD is served by the GET handlers).
 *
 * @example
 * // Envoy: health_check_config { address: <drainwatch>, hostname: px01 } + http_health_check { path: /envoy/health }
 * createEnvoyHealth(context);
 */
export function createEnvoyHealth(context: FrontendContext): Frontend {
  const { app, source, metrics } = context;
  // Hot path: counter children per status code, and one prepared answer per (immutable) verdict.
  const counters = new Map<string, { inc(): void }>();
  const count = (code: number) => {
    const key = String(code);
    let counter = counters.get(key);
    if (!counter) counters.set(key, (counter = metrics.envoyHealthRequests.labels({ code: key })));
    counter.inc();
  };
  const common = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
  const prepared = new WeakMap<NodeVerdict, { status: number; body: string; headers: Record<string, string> }>();

  const answer = (name: string, how: string) => {
    const snapshot = source.published();
    const verdict = lookup(snapshot, name);
    if (!verdict) {
      count(404);
      return new Response(unknownNodeBody(name, snapshot.names(), how), { status: 404, headers: common });
    }
    let ready = prepared.get(verdict);
    if (!ready) {
      const result = healthAnswer(verdict);
      ready = { status: result.status, body: result.body, headers: { ...common, ...result.headers } };
      prepared.set(verdict, ready);
    }
    count(ready.status);
    return new Response(ready.body, { status: ready.status, headers: ready.headers });
  };

  // Read Host from Node's request when served by @hono/node-server: asking hono for a header
  // builds a whole Web Request per check, which more than doubled this route's CPU cost.
  const host = (c: Context) => (c.env as Partial<HttpBindings> | undefined)?.incoming?.headers.host ?? c.req.header('host');
  app.get(ENVOY_HEALTH_PATH, (c) => answer(hostToName(host(c)), 'the Host header'));
  app.get(`${ENVOY_HEALTH_PATH}/:name`, (c) => answer(c.req.param('name'), 'the URL path'));

  return { name: 'envoy-health', close: async () => undefined, destroy: async () => undefined };
}
