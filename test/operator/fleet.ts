// Test helper for the operator tests: a simulated fleet watched by a real Service, plus a log-capturing logger.

import { onTestFinished } from 'vitest';
import { Simulator } from '../../src/simulator/index.js';
import { startTestService, waitFor } from '../helpers/service.js';
import type { Logger } from '../../src/core/logger.js';
import type { ServiceOptions } from '../../src/service/service.js';
import type { TestService } from '../helpers/service.js';

export const TOKEN = 'operator-test-token-3f9a';

export type LogLine = { level: string; fields: Record<string, unknown>; message: string };

/** A pino-shaped logger that keeps every line (with child bindings merged) for assertions. */
export function captureLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at = (level: string) => (fields: object, message = '') => {
    lines.push({ level, fields: { ...bindings, ...(fields as Record<string, unknown>) }, message });
  };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more: object) => captureLogger(lines, { ...bindings, ...(more as Record<string, unknown>) }),
  };
}

/** Starts (and registers cleanup for) a simulator with `count` nodes; a Management Node (no auth) only when asked. */
export async function startSimulator(count = 3, options: { management?: boolean } = {}): Promise<Simulator> {
  const sim = await Simulator.start({ nodes: count, management: options.management ? {} : false });
  onTestFinished(() => sim.destroy());
  return sim;
}

/** The config's `nodes:` list for a simulator's nodes. */
export function nodesOf(sim: Simulator): Array<Record<string, unknown>> {
  return sim.nodes().map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl }));
}

export type WatchOptions = {
  /** Extra config merged at the top level. */
  config?: Record<string, unknown>;
  /** false: no admin token configured. */
  token?: boolean;
  service?: ServiceOptions;
};

/** Starts a Service watching `sim` with fast probes; waits until every node has a first verdict. */
export async function watch(sim: Simulator, options: WatchOptions = {}): Promise<TestService> {
  const withToken = options.token !== false;
  const svc = await startTestService(
    {
      nodes: nodesOf(sim),
      probe: { interval: '400ms', timeout: '350ms', max_age: '4s', rise: 1, fall: 3 },
      haproxy: { agent: null },
      ...options.config,
      http: { ...(withToken ? { admin_token_env: 'DW_OPERATOR_TEST_TOKEN' } : {}), ...(options.config?.http as object | undefined) },
    },
    { ...options.service, env: { ...process.env, DW_OPERATOR_TEST_TOKEN: TOKEN } },
  );
  onTestFinished(() => svc.close());
  await waitFor(async () => (await fetch(`${svc.url}/readyz`)).status === 200, 10_000, 50, 'every node to have a first verdict');
  return svc;
}

export type NodeBody = { name: string; state: string; reason: string; override: null | { state: string; reason: string; by: string; expires_at: string | null } };

export async function nodeState(url: string, name: string): Promise<NodeBody> {
  const response = await fetch(`${url}/api/v1/nodes/${name}`);
  return (await response.json()) as NodeBody;
}

/** PUT or DELETE an override; `token: null` sends no Authorization header. */
export async function override(
  url: string,
  name: string,
  method: 'PUT' | 'DELETE',
  body?: unknown,
  token: string | null = TOKEN,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${url}/api/v1/nodes/${name}/override`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: response.status, json, headers: response.headers };
}
