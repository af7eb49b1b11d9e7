// HAProxy runtime-API push mode: tells each configured backend every verdict change over the stats socket.

import { pushKey, processIdentity, runtimeCommands } from './runtime-commands.js';
import { sendCliCommands } from './runtime-client.js';
import { pushReader } from './read-back.js';
import type { BackendReader } from './read-back.js';
import type { RuntimeSocket } from '../../config/address.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import type { NodeVerdict, Snapshot, SnapshotSource } from '../../core/snapshot.js';
import type { Frontend, FrontendContext } from '../frontend.js';
import type { Metrics } from '../../operator/metrics/registry.js';

// Errors of a socket that is not there right now (HAProxy restarting or stopped): logged as one line.
const EXPECTED_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** How often an otherwise idle pusher checks that HAProxy is the same process (`show info`). */
export const HEARTBEAT_MS = 1000;

export type RuntimePusherOptions = {
  source: SnapshotSource;
  socket: RuntimeSocket;
  /** As written in the config (for logs). */
  socketText: string;
  backend: string;
  resyncIntervalMs: number;
  timeoutMs: number;
  logger: Logger;
  metrics?: Metrics;
  /** First retry delay after a failure (doubles up to the resync interval). Default 500 ms. */
  retryMs?: number;
  /** Epoch ms (default Date.now): the heartbeat reads it. */
  clock?: () => number;
};

/**
 * Pushes verdicts to one HAProxy backend over its stats socket: changes as they happen,
 * the full state every `resyncIntervalMs`, and the full state again whenever HAProxy comes
 * back (after a failure, or when `show info` shows a new process).
 *
 * @example
 * const pusher = new RuntimePusher({ source: core, socket: { path: '/run/haproxy/admin.sock' },
 *   socketText: '/run/haproxy/admin.sock', backend: 'pexip', resyncIntervalMs: 30_000, timeoutMs: 2000, logger });
 * pusher.start();
 */
export class RuntimePusher {
  private readonly options: RuntimePusherOptions;
  private readonly logger: Logger;
  /** What HAProxy has acknowledged per server (cleared when HAProxy may have forgotten it). */
  private readonly pushed = new Map<string, string>();
  private readonly forcedDown = new Set<string>();
  private readonly unknownServers = new Set<string>();
  private identity: string | null = null;
  private running: Promise<void> | null = null;
  private again: 'changes' | 'full' | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastAttempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay: number;
  private failing = false;
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  /** Aborted by destroy(): drops the connection of a push in flight. */
  private readonly abort = new AbortController();
  private readonly clock: () => number;

  constructor(options: RuntimePusherOptions) {
    this.clock = options.clock ?? Date.now;
    this.options = options;
    this.retryDelay = options.retryMs ?? 500;
    this.logger = options.logger.child({ socket: options.socketText, backend: options.backend });
  }

  start(): void {
    if (this.closed || this.unsubscribe) return;
    this.unsubscribe = this.options.source.onChange(() => this.request('changes'));
    this.resyncTimer = setInterval(() => this.request('full'), this.options.resyncIntervalMs);
    this.resyncTimer.unref();
    // With one connection per batch there is no connection to lose: a quiet `show info`
    // every heartbeat is how a restarted or reloaded HAProxy is noticed (and re-asserted) quickly.
    const heartbeatMs = Math.min(HEARTBEAT_MS, this.options.resyncIntervalMs);
    this.heartbeatTimer = setInterval(() => {
      if (this.clock() - this.lastAttempt >= heartbeatMs && !this.retryTimer) this.request('changes');
    }, heartbeatMs);
    this.heartbeatTimer.unref();
    this.request('full');
  }

  /** Resolves when no push is in flight (tests, close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** False while the last attempt failed (HAProxy unreachable or its answer unreadable). */
  get healthy(): boolean {
    return !this.failing;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.again = null;
    await this.idle();
  }

  /** Re-asserts these servers now, whatever was acknowledged before (the read-back found them changed). */
  repair(names: readonly string[]): void {
    for (const name of names) {
      this.pushed.delete(name);
      this.unknownServers.delete(name);
    }
    this.request('changes');
  }

  /** Stops now: clears every timer and drops the socket of a push in flight. Idempotent. */
  async destroy(): Promise<void> {
    this.abort.abort();
    await this.close();
  }

  private request(kind: 'changes' | 'full'): void {
    if (this.closed) return;
    if (this.running) {
      if (this.again !== 'full') this.again = kind;
      return;
    }
    this.running = this.push(kind === 'full').finally(() => {
      this.running = null;
      const next = this.again;
      this.again = null;
      if (next) this.request(next);
    });
  }

  private async push(full: boolean): Promise<void> {
    this.lastAttempt = this.clock();
    const snapshot = this.options.source.published();
    const planned = this.plan(snapshot, full || this.failing);
    const commands = ['show info', ...planned.flatMap((entry) => entry.commands)];
    let outputs: string[];
    try {
      outputs = await sendCliCommands(this.options.socket, commands, this.options.timeoutMs, this.abort.signal);
    } catch (error) {
      if (this.abort.signal.aborted) return; // destroyed: not a failure of HAProxy's
      this.failed(error as Error, planned.reduce((sum, entry) => sum + entry.commands.length, 0));
      return;
    }
    const identity = processIdentity(outputs[0] ?? '');
    const restarted = this.identity !== null && identity !== this.identity;
    this.identity = identity;
    if (this.failing) this.logger.info({}, 'haproxy runtime API reachable again; state re-asserted');
    this.failing = false;
    this.retryDelay = this.options.retryMs ?? 500;
    let at = 1;
    for (const entry of planned) {
      const results = outputs.slice(at, at + entry.commands.length);
      at += entry.commands.length;
      const errors = results.filter((output) => output.trim() !== '');
      this.options.metrics?.runtimeApiCommands.inc({ result: 'ok' }, results.length - errors.length);
      if (errors.length === 0) {
        this.pushed.set(entry.name, entry.key);
        if (entry.state === 'down') this.forcedDown.add(entry.name);
        else if (entry.state === 'ready' || entry.state === 'draining') this.forcedDown.delete(entry.name);
        this.unknownServers.delete(entry.name);
        continue;
      }
      this.pushed.delete(entry.name);
      const noSuchServer = errors.some((output) => /no such (server|backend)|not found/i.test(output));
      this.options.metrics?.runtimeApiCommands.inc({ result: noSuchServer ? 'unknown_server' : 'error' }, errors.length);
      // A server missing from the backend is a config mismatch: say so once, not every resync.
      if (!noSuchServer || !this.unknownServers.has(entry.name)) {
        this.logger.warn({ node: entry.name, answer: errors[0]?.trim().slice(0, 200) }, 'haproxy runtime API refused a command');
      }
      if (noSuchServer) this.unknownServers.add(entry.name);
    }
    if (restarted) {
      // A new HAProxy process starts from its config file: everything we told the old one is gone.
      this.logger.info({ process: identity }, 'haproxy restarted or reloaded; re-asserting every server');
      this.pushed.clear();
      this.again = 'full';
    }
  }

  private plan(snapshot: Snapshot, full: boolean): Array<{ name: string; key: string; state: NodeVerdict['state']; commands: string[] }> {
    const planned = [];
    for (const verdict of snapshot.nodes) {
      const key = pushKey(verdict);
      if (!full && (this.pushed.get(verdict.name) === key || this.unknownServers.has(verdict.name))) continue;
      const commands = runtimeCommands(this.options.backend, verdict, this.forcedDown.has(verdict.name));
      if (commands.length === 0) continue;
      planned.push({ name: verdict.name, key, state: verdict.state, commands });
    }
    return planned;
  }

  private failed(error: Error, pending: number): void {
    this.options.metrics?.runtimeApiCommands.inc({ result: 'failed' }, pending + 1);
    // A refused or missing socket is what an HAProxy restart looks like: one line, no stack.
    const code = (error as NodeJS.ErrnoException).code;
    const expected = code !== undefined && EXPECTED_NETWORK_CODES.has(code);
    if (!this.failing) this.logger.error(expected ? { code, error: error.message } : { err: error }, 'haproxy runtime API unreachable; will retry and re-assert the full state');
    else this.logger.debug({ err: error }, 'haproxy runtime API still unreachable');
    this.failing = true;
    this.pushed.clear();
    if (this.retryTimer || this.closed) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.options.resyncIntervalMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.request('full');
    }, delay);
    this.retryTimer.unref();
  }
}

/**
 * The `haproxy-runtime` front-end: one pusher per `haproxy.runtime_api` entry; a reload
 * replaces the pushers (each new one starts with a full re-assert).
 *
 * @example DEFAULT_FRONTENDS = [createAdminApi, createHaproxyAgent, createHaproxyRuntime]
 */
export function createHaproxyRuntime(context: FrontendContext): Frontend & { pushers(): readonly RuntimePusher[] } {
  const logger = context.logger.child({ frontend: 'haproxy-runtime' });
  let pushers: RuntimePusher[] = [];
  // Each backend is read back too, repaired through its own pusher (issue 12).
  let readers: BackendReader[] = [];
  let applied = '';

  const build = (config: Config): RuntimePusher[] =>
    config.haproxy.runtime_api.map((entry) => {
      return new RuntimePusher({
        source: context.source,
        socket: entry.socket,
        socketText: entry.socket.text,
        backend: entry.backend,
        resyncIntervalMs: entry.resync_interval,
        timeoutMs: entry.timeout,
        logger,
        metrics: context.metrics,
        clock: context.clock,
      });
    });

  const apply = async () => {
    const config = context.config();
    const wanted = JSON.stringify(config.haproxy.runtime_api);
    if (wanted === applied) return;
    const old = pushers;
    const oldReaders = readers;
    pushers = build(config);
    readers = config.haproxy.runtime_api.flatMap((entry, i) => pushReader(context, entry, pushers[i]!) ?? []);
    applied = wanted;
    await Promise.all([...old.map((pusher) => pusher.close()), ...oldReaders.map((reader) => reader.close())]);
    for (const pusher of pushers) pusher.start();
    for (const reader of readers) reader.start();
  };

  return {
    name: 'haproxy-runtime',
    start: apply,
    reload: apply,
    async close() {
      const old = [...pushers, ...readers];
      pushers = [];
      readers = [];
      await Promise.all(old.map((each) => each.close()));
    },
    async destroy() {
      const old = [...pushers, ...readers];
      pushers = [];
      readers = [];
      await Promise.all(old.map((each) => each.destroy()));
    },
    pushers: () => pushers,
  };
}
