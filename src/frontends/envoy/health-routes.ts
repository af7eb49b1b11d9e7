// Envoy active health checks answered on each node's behalf: GET/HEAD /envoy/health (by Host) and /envoy/health/{name}.

import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { NodeVerdict, Snapshot } from '../../core/snapshot.js';
import type { Frontend, FrontendContext } from '../frontend.js';

export const ENVOY_HEALTH_PATH = '/envoy/health';

/**
 * The status Envoy must list in `http_health_check.retriable_statuses` (envoy/health-check-bootstrap.yaml).
 * 504 "Gateway Timeout" is what `unknown` means: drainwatch has no fresh answer from the node.
 * A retriable status counts toward `unhealthy_threshold` instead of failing the host at once, so a
 * short gap in probing does not pull a node; a long one does.
 */
export const UNKNOWN_STATUS = 504;

export type HealthAnswer = { status: number; headers: Record<string, string>; body: string };

/**
 * Envoy HTTP health-check answer for one verdict (DESIGN §2). Envoy's rules, as relied on here:
 * a status in `expected_statuses` (default 200) passes; one in `retriable_statuses` counts toward
 * `unhealthy_threshold`; any other fails the host at once; `x-envoy-degraded` on a passing answer
 * marks the host degraded; `x-envoy-immediate-health-check-fail` fails it at once and excludes it.
 *
 *   ready    → 200                                        (+ x-envoy-degraded when verdict.degraded)
 *   draining → 503 + x-envoy-immediate-health-check-fail
 *   maint    → 503 + x-envoy-immediate-health-check-fail
 *   down     → 503
 *   unknown  → 504 (retriable)
 *
 * The body is one line for people: "<name> <state>[ weight W]: <reason>".
 *
 * @example healthAnswer(verdict).status // 200
 */
export function healthAnswer(verdict: NodeVerdict): HealthAnswer {
  const headers: Record<string, string> = { 'x-drainwatch-state': verdict.state };
  let status: number;
  switch (verdict.state) {
    case 'ready':
      status = 200;
      if (verdict.degraded) headers['x-envoy-degraded'] = 'true';
      break;
    case 'draining':
    case 'maint':
      status = 503;
      headers['x-envoy-immediate-health-check-fail'] = 'true';
      break;
    case 'down':
      status = 503;
      break;
    case 'unknown':
      status = UNKNOWN_STATUS;
      break;
  }
  const weight = verdict.state === 'ready' ? ` weight ${verdict.weight}` : '';
  const degraded = verdict.state === 'ready' && verdict.degraded ? ' (degraded)' : '';
  return { status, headers, body: `${verdict.name} ${verdict.state}${weight}${degraded}: ${oneLine(verdict.reason)}\n` };
}

const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ').slice(0, 300);

/** The node name in a Host header: the port suffix (and IPv6 brackets) removed. */
export function hostToName(host: string | undefined): string {
  if (!host) return '';
  const trimmed = host.trim();
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']');
    return end === -1 ? trimmed : trimmed.slice(1, end);
  }
  const colon = trimmed.indexOf(':');
  // More than one colon without brackets is a bare IPv6 address: keep it whole.
  if (colon !== -1 && trimmed.indexOf(':', colon + 1) === -1) return trimmed.slice(0, colon);
  return trimmed;
}

/** Finds a node by exact name, else by case-insensitive name (Host headers are case-insensitive). */
function lookup(snapshot: Snapshot, name: string): NodeVerdict | undefined {
  const exact = snapshot.get(name);
  if (exact || name === '') return exact;
  const lower = name.toLowerCase();
  const matches = snapshot.nodes.filter((node) => node.name.toLowerCase() === lower);
  return matches.length === 1 ? matches[0] : undefined;
}

const MAX_LISTED = 50;

/** The 404 text for a name that is not in the inventory: loud, because it is a configuration mistake. */
export function unknownNodeBody(name: string, known: readonly string[], how: string): string {
  const listed = known.slice(0, MAX_LISTED).join(', ');
  const more = known.length > MAX_LISTED ? ` and ${known.length - MAX_LISTED} more` : '';
  const subject = name === '' ? `no node name (${how} is empty)` : `unknown node "${oneLine(name)}" (from ${how})`;
  return `${subject}; known nodes: ${listed || '(none)'}${more}\n`;
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
    const snapshot = source.snapshot();
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
