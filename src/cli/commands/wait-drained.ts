// `drainwatch wait-drained NODE`: waits until a draining node has no calls left (for upgrade scripts).

import { parseArgs } from 'node:util';
import { formatHostPort } from '../../config/address.js';
import { formatDuration, parseDuration } from '../../config/duration.js';
import { loadConfigFile } from '../../config/load.js';
import { sleep } from '../../core/sleep.js';

const USAGE = `Usage: drainwatch wait-drained NODE [--config FILE | --url http://127.0.0.1:9555] [--applied]
                                [--timeout 1h] [--interval 2s] [--connect-timeout 10s]

Waits until NODE is draining (maintenance mode or an operator drain) and has no calls left,
as seen by a running drainwatch with a Management Node configured (calls come from its
media_tokens_used / signaling_count). With --applied, also waits until every load balancer
drainwatch reads back holds the node as told (each target in_sync for it).

--config FILE reads drainwatch's address from the config's http.listen (no secrets needed);
without it, --url (default http://127.0.0.1:9555). Progress goes to stderr while waiting.

Exit status: 0 drained; 1 timed out with the node not drained (calls left, or not draining);
2 usage error; 3 unknown node; 4 drainwatch unreachable (no answer within --connect-timeout
at the start, or at the deadline).`;

export const EXIT_DRAINED = 0;
export const EXIT_TIMEOUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNKNOWN_NODE = 3;
export const EXIT_UNREACHABLE = 4;

/** The fields of GET /api/v1/nodes/{name} this command reads. */
type NodeStatus = {
  name: string;
  state: string;
  calls: number | null;
  drained_since: string | null;
  reason: string;
  maintenance: boolean;
  /** Per load-balancer target id, the sync status of this node (absent from drainwatch versions before it). */
  applied?: Record<string, string>;
};

/** Targets that do not (yet) hold the node as told, as "id status" texts; null when drainwatch does not report `applied`. */
export function notApplied(node: Pick<NodeStatus, 'applied'>): string[] | null {
  if (!node.applied || typeof node.applied !== 'object') return null;
  return Object.entries(node.applied).filter(([, status]) => status !== 'in_sync').map(([id, status]) => `${id} ${status}`);
}

export type WaitDrainedIo = {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Aborts the wait (exit 1). */
  signal?: AbortSignal;
};

/** True when the verdict says the node is out of service for new calls and empty. */
export function isDrained(node: Pick<NodeStatus, 'state' | 'calls' | 'drained_since'>): boolean {
  if (node.state === 'draining') return node.drained_since !== null;
  if (node.state === 'maint') return node.drained_since !== null || node.calls === 0;
  return false;
}

/** One human sentence for where a node stands (progress lines and the timeout reason). */
export function describe(node: NodeStatus): string {
  const calls = node.calls === null ? 'calls unknown (is a Management Node configured in drainwatch?)' : `${node.calls} call(s) left`;
  if (node.state === 'draining' || node.state === 'maint') return `${node.name} is ${node.state} with ${calls}`;
  if (node.state === 'ready') return `${node.name} is ready, not draining (put it into maintenance first); ${calls}`;
  return `${node.name} is ${node.state} (${node.reason}); ${calls}`;
}

/**
 * Runs the subcommand; resolves with the exit status.
 *
 * @example await run(['px01', '--timeout', '30m']) // 0 once px01 is drained
 */
export async function run(argv: string[], io: WaitDrainedIo = process): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        timeout: { type: 'string', default: '1h' },
        interval: { type: 'string', default: '2s' },
        url: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'connect-timeout': { type: 'string', default: '10s' },
        applied: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    io.stderr.write(`drainwatch wait-drained: ${(error as Error).message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT_DRAINED;
  }
  const [name, ...extra] = positionals;
  const timeoutMs = parseDuration(values.timeout);
  const intervalMs = parseDuration(values.interval);
  const connectMs = parseDuration(values['connect-timeout']);
  const problems: string[] = [];
  if (connectMs === undefined) problems.push(`--connect-timeout "${values['connect-timeout']}" is not a duration such as 10s`);
  if (values.config !== undefined && values.url !== undefined) problems.push('give --config or --url, not both');
  let url = values.url ?? 'http://127.0.0.1:9555';
  if (values.config !== undefined && values.url === undefined) {
    const loaded = loadConfigFile(values.config, { secrets: false });
    if (!loaded.ok) {
      io.stderr.write(`drainwatch wait-drained: ${values.config} is not valid:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
      return EXIT_USAGE;
    }
    url = urlOfListen(loaded.config.http.listen.host, loaded.config.http.listen.port);
  }
  if (!name) problems.push('name the node to wait for');
  if (extra.length > 0) problems.push(`unexpected argument(s): ${extra.join(' ')}`);
  if (timeoutMs === undefined) problems.push(`--timeout "${values.timeout}" is not a duration such as 30m or 1h`);
  if (intervalMs === undefined || intervalMs < 10) problems.push(`--interval "${values.interval}" must be a duration of at least 10ms, such as 2s`);
  let base: URL | undefined;
  try {
    base = new URL(url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    problems.push(`--url "${url}" is not an http(s) URL`);
  }
  if (problems.length > 0 || !name || timeoutMs === undefined || intervalMs === undefined || connectMs === undefined || !base) {
    io.stderr.write(`drainwatch wait-drained: ${problems.join('; ')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  const target = new URL(`api/v1/nodes/${encodeURIComponent(name)}`, base.toString().endsWith('/') ? base : `${base.toString()}/`);
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = '';
  let lastProblem = 'no answer from drainwatch yet';
  let reached = false;
  let unreachable = false;
  for (;;) {
    if (io.signal?.aborted) {
      io.stderr.write(`drainwatch wait-drained: stopped; ${last || lastProblem}\n`);
      return EXIT_TIMEOUT;
    }
    const remaining = deadline - Date.now();
    try {
      const response = await fetch(target, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(Math.max(100, Math.min(5000, remaining))),
      });
      reached = true;
      unreachable = false;
      if (response.status === 404) {
        await response.body?.cancel();
        io.stderr.write(`drainwatch wait-drained: drainwatch at ${base.origin} does not know a node named "${name}"\n`);
        return EXIT_UNKNOWN_NODE;
      }
      if (!response.ok) {
        await response.body?.cancel();
        lastProblem = `drainwatch answered HTTP ${response.status} at ${target.toString()}`;
      } else {
        const node = (await response.json()) as NodeStatus;
        const pending = values.applied ? notApplied(node) : [];
        if (isDrained(node) && pending !== null && pending.length === 0) {
          const since = node.drained_since ? ` since ${node.drained_since}` : '';
          const applied = values.applied ? `; applied on ${Object.keys(node.applied ?? {}).length} load-balancer target(s)` : '';
          io.stdout.write(`${node.name} is drained: ${node.state}, 0 calls${since}${applied}\n`);
          return EXIT_DRAINED;
        }
        const line = !isDrained(node)
          ? describe(node)
          : pending === null
            ? `${node.name} is drained, but this drainwatch does not report what its load balancers hold (no "applied" field)`
            : `${node.name} is drained, not yet applied everywhere: ${pending.slice(0, 5).join(', ')}${pending.length > 5 ? ` (+${pending.length - 5} more)` : ''}`;
        if (line !== last) io.stderr.write(`${line}\n`);
        last = line;
        lastProblem = '';
      }
    } catch (error) {
      const inner = (error as { cause?: { code?: string; message?: string } }).cause;
      const cause = inner?.code ?? inner?.message ?? (error as Error).message;
      lastProblem = `cannot reach drainwatch at ${base.origin}: ${cause}`;
      if (!unreachable) io.stderr.write(`${lastProblem} (retrying)\n`);
      unreachable = true;
      last = '';
      // A short retry covers a restart; a drainwatch that never answers is not worth the whole timeout.
      if (!reached && Date.now() - started >= connectMs) {
        io.stderr.write(`drainwatch wait-drained: gave up after ${formatDuration(connectMs)}: ${lastProblem}\n`);
        return EXIT_UNREACHABLE;
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left), io.signal);
  }
  const why = lastProblem || last;
  io.stderr.write(`drainwatch wait-drained: timed out after ${formatDuration(timeoutMs)}: ${why}\n`);
  return unreachable ? EXIT_UNREACHABLE : EXIT_TIMEOUT;
}

/** Where to reach a listener from this host: a wildcard bind is reached on loopback. */
function urlOfListen(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${formatHostPort(reachable, port)}`;
}
