// HAProxy read-back: `show servers state <backend>` at an interval, compared with the verdicts; push mode repairs at once.

import { wantFor } from '../../core/lb-sync.js';
import { sanitize } from '../../core/text.js';
import { sendCliCommands } from './runtime-client.js';
import { agentProblem, compareServer, parseServersState } from './servers-state.js';
import type { LoadBalancerSync, NodeReading } from '../../core/lb-sync.js';
import type { Logger } from '../../core/logger.js';
import type { NodeVerdict, Snapshot, SnapshotSource } from '../../core/snapshot.js';
import type { RuntimeSocket } from '../../config/address.js';
import type { Config } from '../../config/schema.js';
import type { Frontend, FrontendContext } from '../frontend.js';
import type { ServerState } from './servers-state.js';

/** The sync-model id of one HAProxy backend on one stats socket. */
export function haproxyTargetId(socketText: string, backend: string): string {
  return `haproxy:${socketText}/${backend}`;
}

export type BackendReaderOptions = {
  source: SnapshotSource;
  sync: LoadBalancerSync;
  socket: RuntimeSocket;
  /** As written in the config (ids, logs). */
  socketText: string;
  backend: string;
  /** `agent`: HAProxy is steered by the agent-check, report only. `push`: drainwatch writes, so it repairs. */
  mode: 'agent' | 'push';
  intervalMs: number;
  timeoutMs: number;
  /** How long a verdict change may take to show in HAProxy before it counts as diverged. */
  budgetMs: number;
  logger: Logger;
  /** Push mode: re-asserts these servers now (the pusher's own path, so pushes stay in order). */
  repair?: (names: readonly string[]) => void;
};

/** The result of one read, for logs and tests. */
export type ReadOutcome = { ok: true; diverged: string[]; repaired: string[] } | { ok: false; reason: string };

/**
 * Reads one HAProxy backend back every `intervalMs` and reports each server to the sync model:
 * admin state, operational state and weight against the verdict. Agent mode only reports (the
 * agent's next reply restates the verdict; servers the agent cannot steer are named). Push mode
 * repairs a diverged server at once through `repair` and counts it; a repair that does not hold
 * stays `diverged`. Never throws: an unreadable socket or answer is the target's reason.
 *
 * @example
 * const reader = new BackendReader({ source: core, sync, socket: { path: '/run/haproxy/admin.sock' },
 *   socketText: '/run/haproxy/admin.sock', backend: 'pexip', mode: 'agent', intervalMs: 2000,
 *   timeoutMs: 2000, budgetMs: 4000, logger });
 * reader.start();
 */
export class BackendReader {
  readonly id: string;
  private readonly options: BackendReaderOptions;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReadOutcome> | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  /** Servers repaired on the previous read, with what they were repaired to (to tell a repair that did not hold). */
  private repairedLast = new Map<string, string | null>();
  private unmanagedSaid = '';

  constructor(options: BackendReaderOptions) {
    this.options = options;
    this.id = haproxyTargetId(options.socketText, options.backend);
    this.logger = options.logger.child({ socket: options.socketText, backend: options.backend, read_back: options.mode });
  }

  /** Registers the target and reads now, then every interval. */
  start(): void {
    if (this.closed || this.timer || this.running) return;
    const { sync, socketText, backend, budgetMs, intervalMs, timeoutMs } = this.options;
    // A socket that hangs is bounded by the timeout; silence beyond a few reads means the loop itself stalled.
    sync.register({ id: this.id, kind: 'haproxy', target: socketText, backend, budgetMs, staleAfterMs: 3 * (intervalMs + timeoutMs) });
    this.loop();
  }

  /** One read, compare and report (and repair in push mode). Safe to call while the loop runs. */
  read(): Promise<ReadOutcome> {
    this.running ??= this.readOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Stops the loop, waits for a read in flight, and removes the target. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    this.options.sync.unregister(this.id);
  }

  /** Drops a read in flight now, then closes. Idempotent. */
  async destroy(): Promise<void> {
    this.abort.abort();
    await this.close();
  }

  private loop(): void {
    if (this.closed) return;
    void this.read().finally(() => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.loop();
      }, this.options.intervalMs);
      this.timer.unref?.();
    });
  }

  private async readOnce(): Promise<ReadOutcome> {
    const { sync, socket, socketText, backend, timeoutMs } = this.options;
    let answer: string;
    try {
      [answer = ''] = await sendCliCommands(socket, [`show servers state ${backend}`], timeoutMs, this.abort.signal);
    } catch (error) {
      if (this.closed) return { ok: false, reason: 'closed' };
      const reason = `cannot read ${socketText}: ${sanitize((error as Error).message, 120)}`;
      sync.fail(this.id, 'unreachable', reason);
      return { ok: false, reason };
    }
    if (this.closed) return { ok: false, reason: 'closed' };
    // The client splits answers at their empty line; put it back so the parser can tell a whole answer.
    const parsed = parseServersState(`${answer}\n\n`, backend);
    if (!parsed.ok) {
      sync.fail(this.id, parsed.missingBackend ? 'diverged' : 'unreachable', parsed.reason);
      return { ok: false, reason: parsed.reason };
    }
    return this.compare(this.options.source.published(), parsed.servers);
  }

  private compare(snapshot: Snapshot, servers: readonly ServerState[]): ReadOutcome {
    const { sync, mode, backend } = this.options;
    const byName = new Map(servers.map((server) => [server.name, server]));
    const readings: NodeReading[] = [];
    const repairable = new Map<string, string | null>();
    for (const verdict of snapshot.nodes) {
      const want = wantFor('haproxy', verdict);
      const server = byName.get(verdict.name);
      if (!server) {
        readings.push({ name: verdict.name, want, have: null, status: 'diverged', reason: `backend ${backend} has no server ${verdict.name}` });
        continue;
      }
      const { have, matches } = compareServer(verdict, server);
      const reading: NodeReading = { name: verdict.name, want, have, matches };
      const problem = mode === 'agent' ? agentProblem(server) : null;
      if (problem) {
        reading.status = 'diverged';
        reading.reason = problem;
      } else if (!matches && have.endsWith('down') && verdict.state !== 'down') {
        reading.reason = `HAProxy's own health check has ${verdict.name} DOWN (expected ${want})`;
      } else if (!matches && this.repairedLast.has(verdict.name) && this.repairedLast.get(verdict.name) === want) {
        reading.status = 'diverged';
        reading.reason = `repair did not hold: expected ${want}, has ${have}`;
      }
      readings.push(reading);
      if (mode === 'push' && !matches && canRepair(verdict, server)) repairable.set(verdict.name, want);
    }
    const unmanaged = servers.filter((server) => !snapshot.has(server.name)).map((server) => server.name);
    sync.report(this.id, { nodes: readings, unmanaged });
    this.sayUnmanaged(unmanaged);

    const target = sync.get(this.id);
    const diverged = target ? target.nodes.filter((node) => node.status === 'diverged').map((node) => node.name) : [];
    const repaired = mode === 'push' && this.options.repair ? diverged.filter((name) => repairable.has(name)) : [];
    this.repairedLast = new Map(repaired.map((name) => [name, repairable.get(name) ?? null]));
    if (repaired.length > 0) {
      this.options.repair!(repaired);
      sync.repaired(this.id, repaired.length);
      this.logger.warn({ nodes: repaired }, 'HAProxy servers differ from the verdicts; re-asserted them');
    }
    return { ok: true, diverged, repaired };
  }

  private sayUnmanaged(unmanaged: readonly string[]): void {
    const said = unmanaged.join(',');
    if (said !== this.unmanagedSaid && unmanaged.length > 0) {
      this.logger.warn({ servers: unmanaged.slice(0, 20), count: unmanaged.length }, 'HAProxy backend has servers drainwatch does not know');
    }
    this.unmanagedSaid = said;
  }
}

/**
 * What push mode can put right: the admin state and weight it sets, and a forced `health down`
 * — not HAProxy's own check finding a node down (pushing again would change nothing).
 */
function canRepair(verdict: Pick<NodeVerdict, 'state' | 'weight'>, server: ServerState): boolean {
  if (verdict.state === 'unknown') return false;
  if (verdict.state === 'down') return true;
  return !compareServer(verdict, { ...server, opState: 'running' }).matches;
}

/**
 * The read-back of one push-mode backend (`haproxy.runtime_api[]`), repairing through `pusher`;
 * null without a sync model (unit-test contexts).
 *
 * @example readers = config.haproxy.runtime_api.flatMap((entry, i) => pushReader(context, entry, pushers[i]) ?? []);
 */
export function pushReader(
  context: FrontendContext,
  entry: Config['haproxy']['runtime_api'][number],
  pusher: { repair(names: readonly string[]): void },
): BackendReader | null {
  if (!context.sync) return null;
  return new BackendReader({
    source: context.source, sync: context.sync, socket: entry.socket, socketText: entry.socket.text, backend: entry.backend,
    mode: 'push', intervalMs: entry.read_interval, timeoutMs: entry.timeout,
    // A push lands within one command round trip: the next read after it must show it.
    budgetMs: entry.read_interval + entry.timeout,
    logger: context.logger.child({ frontend: 'haproxy-runtime' }),
    repair: (names) => pusher.repair(names),
  });
}

/**
 * The `haproxy-observe` front-end: reads back every `haproxy.observe[]` backend (agent mode,
 * report only); a reload that changes the list replaces the readers.
 *
 * @example HAPROXY_FRONTENDS = [createHaproxyAgent, createHaproxyRuntime, createHaproxyObserve]
 */
export function createHaproxyObserve(context: FrontendContext): Frontend {
  let readers: BackendReader[] = [];
  let applied = '';
  const build = (config: Config): BackendReader[] => {
    const { sync } = context;
    if (!sync) return [];
    const agentMs = config.haproxy.agent?.expected_interval ?? 2000;
    return config.haproxy.observe.map((entry) => new BackendReader({
      source: context.source, sync, socket: entry.socket, socketText: entry.socket.text, backend: entry.backend,
      mode: 'agent', intervalMs: entry.interval, timeoutMs: entry.timeout,
      // The agent carries a change at its next check; the read after that shows it.
      budgetMs: agentMs + entry.interval + entry.timeout,
      logger: context.logger.child({ frontend: 'haproxy-observe' }),
    }));
  };
  const apply = async (): Promise<void> => {
    const config = context.config();
    const wanted = JSON.stringify([config.haproxy.observe, config.haproxy.agent?.expected_interval]);
    if (wanted === applied) return;
    const old = readers;
    readers = build(config);
    applied = wanted;
    await Promise.all(old.map((reader) => reader.close()));
    for (const reader of readers) reader.start();
  };
  const stop = async (how: 'close' | 'destroy'): Promise<void> => {
    const old = readers;
    readers = [];
    await Promise.all(old.map((reader) => reader[how]()));
  };
  return { name: 'haproxy-observe', start: apply, reload: apply, close: () => stop('close'), destroy: () => stop('destroy') };
}
