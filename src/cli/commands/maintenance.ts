// `drainwatch maintenance start|status|cancel|exit`: a client of the running service's maintenance plan API.

import { parseArgs } from 'node:util';
import { formatHostPort } from '../../config/address.js';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { loadConfigFile } from '../../config/load.js';

const USAGE = `Usage:
  drainwatch maintenance start  --config FILE [--reason TEXT] [--spacing 2m] [--wait [--timeout 4h]] NODE...
  drainwatch maintenance status --config FILE
  drainwatch maintenance cancel --config FILE
  drainwatch maintenance exit   --config FILE NODE...

Talks to the drainwatch running with FILE (its http.listen, and the admin token from
http.admin_token_env / http.admin_token_file). "start" puts the nodes into maintenance one at a
time, in the order given, through the Management Node (management.maintenance_writes must be
true); --wait follows the plan and prints each node's state and calls left. "cancel" stops
entering queued nodes (nodes already in maintenance stay so). "exit" takes nodes out of
maintenance. --url overrides the address taken from FILE.

Exit status: 0 done (with --wait: every node drained); 1 timed out; 2 the plan failed or was
cancelled; 3 usage or config error; 4 drainwatch refused the request or could not be reached.`;

export const EXIT_OK = 0;
export const EXIT_TIMEOUT = 1;
export const EXIT_PLAN_FAILED = 2;
export const EXIT_USAGE = 3;
export const EXIT_REFUSED = 4;

export type MaintenanceIo = {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
};

type PlanNodeJson = { name: string; state: string; calls: number | null; since_entered_ms: number | null; drain_ms: number | null; detail: string };
type PlanJson = { id: string; state: string; reason: string; spacing_ms: number; waiting_reason: string | null; next: { name: string; in_ms: number | null } | null; nodes: PlanNodeJson[] };

/** One line per node: name, state, calls left, time since entering (or how long draining took). */
export function describeNode(node: PlanNodeJson): string {
  const calls = node.calls === null ? '' : `${node.calls} call(s) left`;
  const time = node.drain_ms !== null ? `drained in ${formatDuration(Math.round(node.drain_ms / 1000) * 1000)}` : node.since_entered_ms !== null ? `entered ${formatDuration(Math.round(node.since_entered_ms / 1000) * 1000)} ago` : '';
  return [node.name.padEnd(8), node.state.padEnd(9), calls, time, node.state === 'failed' || node.state === 'queued' ? node.detail : ''].filter(Boolean).join('  ').trimEnd();
}

/** The plan as a few lines: its state, then each node. */
export function describePlan(plan: PlanJson): string {
  const head = `plan ${plan.id}: ${plan.state} (${plan.reason}; spacing ${formatDuration(plan.spacing_ms)})`;
  const waiting = plan.waiting_reason ? `\n  waiting: ${plan.waiting_reason}` : '';
  const next = plan.next && plan.next.in_ms !== null ? `\n  next: ${plan.next.name} in ${formatDuration(Math.round(plan.next.in_ms / 1000) * 1000)}` : '';
  return `${head}${waiting}${next}\n${plan.nodes.map((n) => `  ${describeNode(n)}`).join('\n')}\n`;
}

type Client = { base: URL; token: string | undefined };

async function call(client: Client, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(new URL(path, client.base), {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(client.token ? { authorization: `Bearer ${client.token}` } : {}),
      'x-drainwatch-user': `cli ${process.env.USER ?? 'unknown'}`.slice(0, 64),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { error: text.slice(0, 200) };
  }
  return { status: response.status, json };
}

function refusal(io: MaintenanceIo, what: string, status: number, json: Record<string, unknown>): number {
  const problems = Array.isArray(json.problems) ? (json.problems as string[]) : [String(json.error ?? 'no detail')];
  io.stderr.write(`drainwatch maintenance ${what}: drainwatch answered HTTP ${status}:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  return EXIT_REFUSED;
}

/**
 * Runs the subcommand; resolves with the exit status.
 *
 * @example await run(['start', '--config', '/etc/drainwatch.yaml', '--wait', 'px01', 'px02']) // 0 once both are drained
 */
export async function run(argv: string[], io: MaintenanceIo = process): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        reason: { type: 'string' },
        spacing: { type: 'string' },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '4h' },
        interval: { type: 'string', default: '2s' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`drainwatch maintenance: ${(error as Error).message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  const [action, ...nodes] = positionals;
  const problems: string[] = [];
  if (!action || !['start', 'status', 'cancel', 'exit'].includes(action)) problems.push(`say what to do: start, status, cancel or exit${action ? ` (got "${action}")` : ''}`);
  if (!values.config) problems.push('--config FILE is required (the config of the running drainwatch)');
  if ((action === 'start' || action === 'exit') && nodes.length === 0) problems.push(`name the node(s) to ${action === 'start' ? 'take out of service, in order' : 'take out of maintenance'}`);
  if ((action === 'status' || action === 'cancel') && nodes.length > 0) problems.push(`"${action}" takes no node names`);
  if (action !== 'start' && (values.wait || values.reason !== undefined || values.spacing !== undefined)) problems.push('--reason, --spacing and --wait only apply to "start"');
  const timeoutMs = parseDuration(values.timeout);
  const intervalMs = parseDuration(values.interval);
  if (timeoutMs === undefined) problems.push(`--timeout "${values.timeout}" is not a duration such as 30m or 4h`);
  if (intervalMs === undefined || intervalMs < 10) problems.push(`--interval "${values.interval}" must be a duration of at least 10ms`);
  if (values.spacing !== undefined && parseDuration(values.spacing) === undefined) problems.push(`--spacing "${values.spacing}" is not a duration such as 90s or 2m`);
  if (problems.length > 0 || !action || !values.config || timeoutMs === undefined || intervalMs === undefined) {
    io.stderr.write(`drainwatch maintenance: ${problems.join('; ')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const loaded = loadConfigFile(values.config, { env: io.env ?? process.env });
  if (!loaded.ok) {
    io.stderr.write(`drainwatch maintenance: cannot use ${values.config}:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return EXIT_USAGE;
  }
  let base: URL;
  try {
    const { host, port } = loaded.config.http.listen;
    // A wildcard bind is reached on loopback.
    const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
    base = new URL(values.url ?? `http://${formatHostPort(reachable, port)}/`);
  } catch {
    io.stderr.write(`drainwatch maintenance: --url "${values.url}" is not a URL\n`);
    return EXIT_USAGE;
  }
  const client: Client = { base, token: loaded.secrets.adminToken };
  try {
    if (action === 'status') {
      const { status, json } = await call(client, 'GET', 'api/v1/maintenance');
      if (status !== 200) return refusal(io, action, status, json);
      io.stdout.write(json.plan ? describePlan(json.plan as PlanJson) : 'no maintenance plan\n');
      return EXIT_OK;
    }
    if (action === 'cancel') {
      const { status, json } = await call(client, 'DELETE', 'api/v1/maintenance');
      if (status !== 200) return refusal(io, action, status, json);
      io.stdout.write(describePlan(json.plan as PlanJson));
      return EXIT_OK;
    }
    if (action === 'exit') {
      const { status, json } = await call(client, 'POST', 'api/v1/maintenance/exit', { nodes });
      const results = Array.isArray(json.results) ? (json.results as { name: string; ok: boolean; detail: string }[]) : null;
      if (!results) return refusal(io, action, status, json);
      for (const r of results) (r.ok ? io.stdout : io.stderr).write(`${r.name}: ${r.ok ? 'out of maintenance' : `failed: ${r.detail}`}\n`);
      return status === 200 ? EXIT_OK : EXIT_REFUSED;
    }
    const request = { nodes, ...(values.reason !== undefined ? { reason: values.reason } : {}), ...(values.spacing !== undefined ? { spacing: values.spacing } : {}) };
    const { status, json } = await call(client, 'POST', 'api/v1/maintenance', request);
    if (status !== 202) return refusal(io, action, status, json);
    const plan = json.plan as PlanJson;
    io.stdout.write(`started plan ${plan.id}: ${nodes.join(', ')}\n`);
    return values.wait ? await follow(client, plan.id, timeoutMs, intervalMs, io) : EXIT_OK;
  } catch (error) {
    io.stderr.write(`drainwatch maintenance ${action}: cannot reach drainwatch at ${base.origin}: ${(error as Error).message}\n`);
    return EXIT_REFUSED;
  }
}

/** --wait: prints each node's changes until the plan ends (0 all drained, 2 failed/cancelled) or the timeout (1). */
async function follow(client: Client, id: string, timeoutMs: number, intervalMs: number, io: MaintenanceIo): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const printed = new Map<string, string>();
  let last: PlanJson | null = null;
  for (;;) {
    const { status, json } = await call(client, 'GET', 'api/v1/maintenance').catch(() => ({ status: 0, json: {} as Record<string, unknown> }));
    const plan = status === 200 ? (json.plan as PlanJson | null) : null;
    if (plan && plan.id !== id) {
      io.stderr.write(`plan ${id} was replaced by plan ${plan.id}\n`);
      return EXIT_PLAN_FAILED;
    }
    if (plan) {
      last = plan;
      for (const node of plan.nodes) {
        const key = `${node.state}|${node.calls}`;
        if (printed.get(node.name) === key) continue;
        printed.set(node.name, key);
        io.stdout.write(`${describeNode(node)}\n`);
      }
      if (plan.state === 'done') {
        io.stdout.write(`plan ${id} done: every node is in maintenance with no calls left\n`);
        return EXIT_OK;
      }
      if (plan.state === 'failed' || plan.state === 'cancelled') {
        io.stderr.write(`plan ${id} ${plan.state}\n${describePlan(plan)}`);
        return EXIT_PLAN_FAILED;
      }
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0 || io.signal?.aborted) {
      io.stderr.write(`timed out waiting for plan ${id}${last ? `:\n${describePlan(last)}` : ''}`);
      return EXIT_TIMEOUT;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
}
