// /api/v1/maintenance: start, show, cancel maintenance plans and take nodes out of maintenance — token first, then the writes opt-in.

import { getConnInfo } from '@hono/node-server/conninfo';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { isoTime, planHeaderJson } from '../../core/plan-json.js';
import { readCappedBody } from '../http/read-body.js';
import { tokenMatches } from './overrides.js';
import type { Context } from 'hono';
import type { Plan } from '../../core/maintenance-plan.js';
import type { Frontend, FrontendContext } from '../../frontends/frontend.js';

/** A validated start request; `spacingMs` null means policy.maintenance_spacing. */
export type PlanRequest = { nodes: string[]; reason: string; spacingMs: number | null; by: string };

export type StartResult = { ok: true; plan: Plan } | { ok: false; status: 400 | 409; problems: string[] };
export type ExitResult = { ok: false; status: 400; problems: string[] } | { ok: boolean; results: { name: string; ok: boolean; detail: string }[] };

/** What the API drives; the service's plan runner implements it. */
export type MaintenanceController = {
  current(): Plan | null;
  start(request: PlanRequest): Promise<StartResult>;
  /** Cancels the running plan; null when none runs. */
  cancel(by: string): Promise<Plan | null>;
  exit(nodes: string[], by: string): Promise<ExitResult>;
  /** Lifecycle, driven by this front-end: load and resume a saved plan; finish or abort a write in flight. */
  startRunning?(): void;
  /** A config reload was applied (state.file may have moved). */
  reload?(): Promise<void>;
  close?(): Promise<void>;
  destroy?(): Promise<void>;
};

export const MAX_PLAN_REASON = 200;
export const MAX_PLAN_NODES = 500;
export const MAX_SPACING_MS = 3_600_000;
export const DEFAULT_PLAN_REASON = 'taken out of service';

/*
 * POST /api/v1/maintenance body (JSON object, no other keys):
 *   nodes    list of node names, in the order they enter          required, non-empty
 *   reason   string, 1..200 characters                             optional (default "taken out of service")
 *   spacing  duration "90s" | "2m"                                 optional (default policy.maintenance_spacing)
 * POST /api/v1/maintenance/exit body: { "nodes": [...] }
 */
/**
 * Validates a start (or exit, `exit: true`) body (pure); every problem as a sentence.
 *
 * @example parsePlanBody('{"nodes": ["px01"], "spacing": "3s"}') // { ok: true, nodes: ['px01'], reason: 'taken out of service', spacingMs: 3000 }
 */
export function parsePlanBody(text: string, exit = false): { ok: true; nodes: string[]; reason: string; spacingMs: number | null } | { ok: false; problems: string[] } {
  const example = exit ? '{"nodes": ["px01"]}' : '{"nodes": ["px01", "px02"], "reason": "upgrade", "spacing": "2m"}';
  if (text.trim() === '') return { ok: false, problems: [`the request body is empty; send JSON such as ${example}`] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`the request body is not valid JSON (${(error as Error).message})`] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, problems: [`the request body must be a JSON object such as ${example}`] };
  const body = raw as Record<string, unknown>;
  const allowed = exit ? ['nodes'] : ['nodes', 'reason', 'spacing'];
  const problems = Object.keys(body).filter((k) => !allowed.includes(k)).map((k) => `unknown field "${k}" (allowed: ${allowed.join(', ')})`);
  const nodes = body.nodes;
  if (nodes === undefined) problems.push('"nodes" is required: the nodes to take out of service, in order');
  else if (!Array.isArray(nodes) || nodes.some((n) => typeof n !== 'string' || n.trim() === '')) problems.push('"nodes" must be a list of node names');
  else if (nodes.length === 0) problems.push('"nodes" is empty: list the nodes to take out of service, in order');
  else if (nodes.length > MAX_PLAN_NODES) problems.push(`"nodes" lists ${nodes.length} nodes; at most ${MAX_PLAN_NODES}`);
  let reason = DEFAULT_PLAN_REASON;
  const r = body.reason;
  if (r !== undefined) {
    if (typeof r !== 'string' || r.trim() === '') problems.push('"reason" must be a non-empty string');
    else if (r.length > MAX_PLAN_REASON) problems.push(`"reason" is too long (${r.length} characters; at most ${MAX_PLAN_REASON})`);
    else if (/[\u0000-\u001f\u007f]/.test(r)) problems.push('"reason" must not contain control characters or line breaks');
    else reason = r.trim();
  }
  let spacingMs: number | null = null;
  const s = body.spacing;
  if (s !== undefined && s !== null) {
    const ms = typeof s === 'string' ? parseDuration(s) : undefined;
    if (ms === undefined) problems.push(`"spacing": ${JSON.stringify(s)} is not a duration; write it like "90s" or "2m"`);
    else if (ms > MAX_SPACING_MS) problems.push(`"spacing" must be at most ${formatDuration(MAX_SPACING_MS)} (got ${String(s)})`);
    else spacingMs = ms;
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, nodes: (nodes as string[]).map((n) => n.trim()), reason, spacingMs };
}

/** The JSON shape of a plan (GET /api/v1/maintenance, and the CLI and dashboard read it). */
export function planToJson(plan: Plan, now: number): Record<string, unknown> {
  return {
    ...planHeaderJson(plan),
    next: plan.next && { name: plan.next.name, not_before: isoTime(plan.next.notBefore), in_ms: plan.next.notBefore === null ? null : Math.max(0, plan.next.notBefore - now) },
    nodes: plan.nodes.map((node) => ({
      name: node.name,
      state: node.state,
      entered_at: isoTime(node.enteredAt),
      drained_at: isoTime(node.drainedAt),
      drain_ms: node.drainedAt !== null && node.enteredAt !== null ? node.drainedAt - node.enteredAt : null,
      since_entered_ms: node.enteredAt === null ? null : Math.max(0, (node.drainedAt ?? now) - node.enteredAt),
      calls: node.calls,
      detail: node.detail,
    })),
  };
}

type Refusal = { status: 401 | 403; error: string; challenge?: string };

function remoteAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in unit tests has no socket
  }
}

function actor(c: Context): { user: string | null; remote: string; by: string } {
  const raw = c.req.header('x-drainwatch-user');
  const clean = raw ? raw.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 64) : '';
  const user = clean === '' ? null : clean;
  const remote = remoteAddress(c);
  return { user, remote, by: `${user ?? 'admin token holder'} from ${remote}` };
}

/**
 * Registers the maintenance routes. Order of checks on every write: the admin token (401), the
 * `management.maintenance_writes` opt-in (403, nothing written, nothing sent to the Management
 * Node), the body (400, every problem), then the controller (409 while another plan runs, 202).
 *
 * @example
 * // curl -X POST -H "Authorization: Bearer $TOKEN" -d '{"nodes":["px01","px02"],"reason":"upgrade"}' 127.0.0.1:9555/api/v1/maintenance
 */
export function createMaintenanceApi(context: FrontendContext & { maintenance: MaintenanceController }): Frontend {
  const { app, config, secrets, clock, maintenance } = context;
  const logger = context.logger.child({ component: 'maintenance-api' });

  const refuse = (c: Context, method: string): Refusal | null => {
    const expected = secrets().adminToken;
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    let refusal: Refusal | null = null;
    if (!expected) {
      refusal = { status: 403, error: 'maintenance plans need an admin token: set http.admin_token_env or http.admin_token_file in the config, then reload (SIGHUP) or restart drainwatch' };
    } else if (!match) {
      refusal = { status: 401, error: 'missing bearer token: send "Authorization: Bearer <token>"', challenge: 'Bearer realm="drainwatch"' };
    } else if (!tokenMatches(match[1] as string, expected)) {
      refusal = { status: 401, error: 'the bearer token is not valid', challenge: 'Bearer realm="drainwatch", error="invalid_token"' };
    } else if (!config().management?.maintenance_writes) {
      refusal = {
        status: 403,
        error:
          'maintenance writes are disabled: drainwatch never changes a node on the Management Node unless told to. To enable plans, set ' +
          '"management: { maintenance_writes: true }" in the config (the Management Node account then needs permission to change ' +
          'worker_vm configuration), then reload (SIGHUP) or restart drainwatch',
      };
    }
    if (refusal) {
      const who = actor(c);
      logger.warn({ method, path: c.req.path, remote: who.remote, user: who.user, status: refusal.status }, `maintenance request refused: ${refusal.error}`);
    }
    return refusal;
  };
  const refused = (c: Context, refusal: Refusal) => {
    if (refusal.challenge) c.header('WWW-Authenticate', refusal.challenge);
    return c.json({ error: refusal.error }, refusal.status);
  };
  const body = async (c: Context, exit: boolean) => {
    const read = await readCappedBody(c.req.raw, config().http.body_limit);
    if (!read.ok) return c.json({ error: read.error, problems: [read.error] }, read.status);
    const parsed = parsePlanBody(read.text, exit);
    if (!parsed.ok) return c.json({ error: `invalid request: ${parsed.problems.join('; ')}`, problems: parsed.problems }, 400);
    return parsed;
  };

  app.get('/api/v1/maintenance', (c) => {
    const plan = maintenance.current();
    return c.json({ plan: plan && planToJson(plan, clock()) });
  });

  app.post('/api/v1/maintenance', async (c) => {
    const refusal = refuse(c, 'POST');
    if (refusal) return refused(c, refusal);
    const parsed = await body(c, false);
    if (parsed instanceof Response) return parsed;
    const result = await maintenance.start({ nodes: parsed.nodes, reason: parsed.reason, spacingMs: parsed.spacingMs, by: actor(c).by });
    if (!result.ok) return c.json({ error: result.problems.join('; '), problems: result.problems }, result.status);
    return c.json({ plan: planToJson(result.plan, clock()) }, 202);
  });

  app.delete('/api/v1/maintenance', async (c) => {
    const refusal = refuse(c, 'DELETE');
    if (refusal) return refused(c, refusal);
    const plan = await maintenance.cancel(actor(c).by);
    if (!plan) return c.json({ error: 'no maintenance plan is running' }, 404);
    return c.json({ plan: planToJson(plan, clock()) });
  });

  app.post('/api/v1/maintenance/exit', async (c) => {
    const refusal = refuse(c, 'POST');
    if (refusal) return refused(c, refusal);
    const parsed = await body(c, true);
    if (parsed instanceof Response) return parsed;
    const result = await maintenance.exit(parsed.nodes, actor(c).by);
    if ('problems' in result) return c.json({ error: result.problems.join('; '), problems: result.problems }, 400);
    return c.json({ ok: result.ok, results: result.results }, result.ok ? 200 : 502);
  });

  return {
    name: 'maintenance-api',
    async start() {
      maintenance.startRunning?.();
    },
    async reload() {
      await maintenance.reload?.();
    },
    async close() {
      await maintenance.close?.();
    },
    async destroy() {
      await maintenance.destroy?.();
    },
  };
}
