// Maintenance API routes with a fake controller: token first, then the writes opt-in, then every body problem; GET needs no token.

import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createPlan } from '../../../src/core/maintenance-plan.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createMaintenanceApi, parsePlanBody } from '../../../src/operator/api/maintenance.js';
import type { MaintenanceController, PlanRequest } from '../../../src/operator/api/maintenance.js';
import type { Plan } from '../../../src/core/maintenance-plan.js';

const TOKEN = 'tok-123456';
const T0 = Date.UTC(2026, 11, 2, 4, 0, 0);

function setup(options: { writes?: boolean; token?: string | undefined } = {}) {
  const calls: { start: PlanRequest[]; cancel: string[]; exit: string[][] } = { start: [], cancel: [], exit: [] };
  let plan: Plan | null = null;
  const controller: MaintenanceController = {
    current: () => plan,
    async start(request) {
      calls.start.push(request);
      plan = createPlan({ id: 'p1', nodes: request.nodes.map((name, i) => ({ name, configurationId: i + 1 })), reason: request.reason, spacingMs: request.spacingMs ?? 120_000, createdBy: request.by, now: T0 });
      return { ok: true, plan };
    },
    async cancel(by) {
      calls.cancel.push(by);
      return plan;
    },
    async exit(nodes) {
      calls.exit.push(nodes);
      return { ok: true, results: nodes.map((name) => ({ name, ok: true, detail: 'maintenance_mode set to false' })) };
    },
  };
  const app = new Hono();
  const config = { management: { maintenance_writes: options.writes ?? true }, http: { body_limit: 65_536 } };
  const token = 'token' in options ? options.token : TOKEN;
  createMaintenanceApi({
    app, logger: silentLogger, clock: () => T0 + 1000, maintenance: controller,
    config: () => config as never, secrets: () => (token ? { adminToken: token } : {}),
  } as never);
  const send = (method: string, path: string, body?: unknown, auth: string | null = `Bearer ${TOKEN}`) =>
    app.request(path, { method, headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { send, calls };
}

describe('maintenance api', () => {
  it('answers 401 without a token or with a wrong one, before anything else, for every write route', async () => {
    const { send, calls } = setup({ writes: false });
    for (const [method, path] of [['POST', '/api/v1/maintenance'], ['DELETE', '/api/v1/maintenance'], ['POST', '/api/v1/maintenance/exit']] as const) {
      const none = await send(method, path, { nodes: ['px01'] }, null);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await send(method, path, { nodes: ['px01'] }, 'Bearer wrong')).status).toBe(401);
    }
    expect(calls).toEqual({ start: [], cancel: [], exit: [] });
  });

  it('answers 403 saying how to enable writes when the opt-in is off, and calls nothing', async () => {
    const { send, calls } = setup({ writes: false });
    const res = await send('POST', '/api/v1/maintenance', { nodes: ['px01'] });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/set "management: \{ maintenance_writes: true \}"/);
    expect((await send('POST', '/api/v1/maintenance/exit', { nodes: ['px01'] })).status).toBe(403);
    expect((await send('DELETE', '/api/v1/maintenance')).status).toBe(403);
    expect(calls).toEqual({ start: [], cancel: [], exit: [] });
  });

  it('answers 403 when no admin token is configured at all', async () => {
    const { send } = setup({ token: undefined });
    expect((await send('POST', '/api/v1/maintenance', { nodes: ['px01'] })).status).toBe(403);
  });

  it('answers 400 listing every body problem', async () => {
    const { send, calls } = setup();
    const res = await send('POST', '/api/v1/maintenance', { nodes: [], reason: '', spacing: 'soon', extra: 1 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { problems: string[] }).problems).toEqual([
      'unknown field "extra" (allowed: nodes, reason, spacing)',
      '"nodes" is empty: list the nodes to take out of service, in order',
      '"reason" must be a non-empty string',
      '"spacing": "soon" is not a duration; write it like "90s" or "2m"',
    ]);
    expect((await send('POST', '/api/v1/maintenance', '{nope')).status).toBe(400);
    expect(calls.start).toEqual([]);
  });

  it('answers 202 with the plan, and shows it to anyone on GET', async () => {
    const { send, calls } = setup();
    const res = await send('POST', '/api/v1/maintenance', { nodes: ['px01', 'px02'], reason: 'upgrade', spacing: '3s' });
    expect(res.status).toBe(202);
    expect(calls.start).toEqual([{ nodes: ['px01', 'px02'], reason: 'upgrade', spacingMs: 3000, by: 'admin token holder from unknown' }]);
    const got = await send('GET', '/api/v1/maintenance', undefined, null);
    expect(got.status).toBe(200);
    const { plan } = (await got.json()) as { plan: Record<string, unknown> };
    expect(plan).toMatchObject({ id: 'p1', state: 'running', reason: 'upgrade', spacing_ms: 3000, created_at: new Date(T0).toISOString() });
    expect(plan.nodes).toEqual([
      { name: 'px01', state: 'queued', entered_at: null, drained_at: null, drain_ms: null, since_entered_ms: null, calls: null, detail: 'queued' },
      { name: 'px02', state: 'queued', entered_at: null, drained_at: null, drain_ms: null, since_entered_ms: null, calls: null, detail: 'queued' },
    ]);
  });

  it('parses bodies as a table', () => {
    expect(parsePlanBody('{"nodes": ["px01"]}')).toEqual({ ok: true, nodes: ['px01'], reason: 'taken out of service', spacingMs: null });
    expect(parsePlanBody('{"nodes": ["px01"], "reason": "x"}', true)).toEqual({ ok: false, problems: ['unknown field "reason" (allowed: nodes)'] });
    expect(parsePlanBody('')).toMatchObject({ ok: false, problems: [expect.stringMatching(/empty/)] });
    expect(parsePlanBody('{"nodes": [1]}')).toEqual({ ok: false, problems: ['"nodes" must be a list of node names'] });
  });
});
