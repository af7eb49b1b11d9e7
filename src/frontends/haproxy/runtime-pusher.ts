// HAProxy runtime-API push mode: tells each configured backend every verdict change over the stats socket.

import { connect } from 'node:net';
import { parseListenAddress } from '../../config/address.js';
import { agentWeight } from './reply.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import type { NodeVerdict, Snapshot, SnapshotSource } from '../../core/snapshot.js';
import type { Frontend, FrontendContext } from '../frontend.js';
import type { Metrics } from '../../operator/metrics/registry.js';

/** Where a stats socket lives: a unix socket path, or host:port for `stats socket ipv4@...`. */
export type RuntimeSocket = { path: string } | { host: string; port: number };

/**
 * Reads `haproxy.runtime_api[].socket`: "/run/haproxy/admin.sock", "unix@/path",
 * "127.0.0.1:9999", "ipv4@127.0.0.1:9999" or "[::1]:9999"; an error sentence otherwise.
 *
 * @example parseRuntimeSocket('127.0.0.1:9999') // { host: '127.0.0.1', port: 9999 }
 */
export function parseRuntimeSocket(text: string): RuntimeSocket | string {
  const trimmed = text.trim();
  if (trimmed.startsWith('unix@')) return { path: trimmed.slice(5) };
  if (trimmed.startsWith('/') || trimmed.startsWith('./') || trimmed.startsWith('../')) return { path: trimmed };
  const address = parseListenAddress(trimmed.replace(/^ipv[46]@/, ''));
  if (typeof address === 'string') return `"${text}" is neither a unix socket path (starting with "/") nor host:port`;
  if (address.port === 0) return `"${text}" needs a port`;
  return address;
}

/** A server's admin/health intent as pushed: what a re-push compares against. */
export type PushedState = { state: NodeVerdict['state']; weight: number };

/*
 * Runtime API commands, as HAProxy 2.6's CLI takes them (one connection, commands
 * separated by ";" on one line, HAProxy answers each and closes):
 *
 *   set server <backend>/<server> state  ready | drain | maint
 *   set server <backend>/<server> weight <N>%          ; of the configured weight (100)
 *   set server <backend>/<server> health up | down     ; forced health; HAProxy's own
 *                                                      ; `check` may overturn it later
 *
 *   ready, weight W  ->  state ready; weight W%   (+ health up if we forced it down)
 *   draining         ->  state drain               (+ health up if we forced it down)
 *   maint            ->  state maint
 *   down             ->  health down               (admin state kept, as the agent does)
 *   unknown          ->  nothing                   (HAProxy keeps what it has)
 *
 * Each command's answer is its output followed by one empty line; an empty output means
 * it worked, anything else ("No such server.", "Permission denied") is the error text.
 */

/**
 * The commands that bring one HAProxy server to a verdict.
 *
 * @example runtimeCommands('pexip', { name: 'px01', state: 'ready', weight: 65 }, false)
 * // ['set server pexip/px01 state ready', 'set server pexip/px01 weight 65%']
 */
export function runtimeCommands(backend: string, verdict: Pick<NodeVerdict, 'name' | 'state' | 'weight'>, forcedDown: boolean): string[] {
  const server = `set server ${backend}/${verdict.name}`;
  const healthUp = forcedDown ? [`${server} health up`] : [];
  switch (verdict.state) {
    case 'ready':
      return [`${server} state ready`, `${server} weight ${agentWeight(verdict.weight)}%`, ...healthUp];
    case 'draining':
      return [`${server} state drain`, ...healthUp];
    case 'maint':
      return [`${server} state maint`];
    case 'down':
      return [`${server} health down`];
    case 'unknown':
      return [];
  }
}

/**
 * Splits a CLI answer to `count` ";"-separated commands into one output per command
 * (each output is followed by an empty line; a successful `set` prints nothing).
 * Returns null when the answer does not have that shape (a truncated answer).
 *
 * @example splitCliAnswer('\nNo such server.\n\n', 2) // ['', 'No such server.']
 */
export function splitCliAnswer(text: string, count: number): string[] | null {
  const outputs: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i += 1) {
    if (at >= text.length) return null;
    if (text[at] === '\n') {
      outputs.push('');
      at += 1;
      continue;
    }
    const end = text.indexOf('\n\n', at);
    if (end < 0) return null;
    outputs.push(text.slice(at, end));
    at = end + 2;
  }
  return outputs;
}

/** How often an otherwise idle pusher checks that HAProxy is the same process (`show info`). */
export const HEARTBEAT_MS = 1000;

// The CLI reads one line into a buffer of tune.bufsize (16 KiB by default); stay well below it.
const MAX_BATCH_BYTES = 8 * 1024;

/**
 * Sends commands over one connection each batch and returns one output per command.
 * Rejects on connection errors, a timeout, or an answer that cannot be split.
 */
export async function sendCliCommands(socket: RuntimeSocket, commands: readonly string[], timeoutMs: number): Promise<string[]> {
  const outputs: string[] = [];
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    outputs.push(...(await sendBatch(socket, batch, timeoutMs)));
    batch = [];
    size = 0;
  };
  for (const command of commands) {
    if (size + command.length + 2 > MAX_BATCH_BYTES) await flush();
    batch.push(command);
    size += command.length + 2;
  }
  await flush();
  return outputs;
}

function sendBatch(target: RuntimeSocket, commands: readonly string[], timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error: Error | null, value?: string[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value as string[]);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setNoDelay?.(true);
    socket.on('connect', () => socket.write(`${commands.join('; ')}\n`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // `show info` answers about 2 KiB; anything far larger is not the CLI we expect.
      if (received > 1024 * 1024) return finish(new Error('answer larger than 1 MiB'));
      chunks.push(chunk);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const outputs = splitCliAnswer(text, commands.length);
      if (outputs) finish(null, outputs);
      else finish(new Error(`incomplete answer (${received} bytes for ${commands.length} commands)`));
    });
  });
}

/** The identity of a running HAProxy process from `show info` (changes on restart or reload). */
export function processIdentity(showInfo: string): string | null {
  const pid = /^Pid: *(\d+)/m.exec(showInfo)?.[1];
  const started = /^Start_time_sec: *(\d+)/m.exec(showInfo)?.[1];
  return pid ? `${pid}@${started ?? '?'}` : null;
}

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

  constructor(options: RuntimePusherOptions) {
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
      if (Date.now() - this.lastAttempt >= heartbeatMs && !this.retryTimer) this.request('changes');
    }, heartbeatMs);
    this.heartbeatTimer.unref();
    this.request('full');
  }

  /** Resolves when no push is in flight (tests, close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** True while the last attempt failed. */
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
    this.lastAttempt = Date.now();
    const snapshot = this.options.source.snapshot();
    const planned = this.plan(snapshot, full || this.failing);
    const commands = ['show info', ...planned.flatMap((entry) => entry.commands)];
    let outputs: string[];
    try {
      outputs = await sendCliCommands(this.options.socket, commands, this.options.timeoutMs);
    } catch (error) {
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
      const key = verdict.state === 'ready' ? `ready ${agentWeight(verdict.weight)}` : verdict.state;
      if (!full && (this.pushed.get(verdict.name) === key || this.unknownServers.has(verdict.name))) continue;
      const commands = runtimeCommands(this.options.backend, verdict, this.forcedDown.has(verdict.name));
      if (commands.length === 0) continue;
      planned.push({ name: verdict.name, key, state: verdict.state, commands });
    }
    return planned;
  }

  private failed(error: Error, pending: number): void {
    this.options.metrics?.runtimeApiCommands.inc({ result: 'failed' }, pending + 1);
    if (!this.failing) this.logger.error({ err: error }, 'haproxy runtime API unreachable; will retry and re-assert the full state');
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
  let applied = '';

  const build = (config: Config): RuntimePusher[] =>
    config.haproxy.runtime_api.map((entry) => {
      const socket = parseRuntimeSocket(entry.socket);
      if (typeof socket === 'string') throw new Error(`haproxy.runtime_api: ${socket}`); // validated at load
      return new RuntimePusher({
        source: context.source,
        socket,
        socketText: entry.socket,
        backend: entry.backend,
        resyncIntervalMs: entry.resync_interval,
        timeoutMs: entry.timeout,
        logger,
        metrics: context.metrics,
      });
    });

  const apply = async () => {
    const config = context.config();
    const wanted = JSON.stringify(config.haproxy.runtime_api);
    if (wanted === applied) return;
    const old = pushers;
    pushers = build(config);
    applied = wanted;
    await Promise.all(old.map((pusher) => pusher.close()));
    for (const pusher of pushers) pusher.start();
  };

  return {
    name: 'haproxy-runtime',
    start: apply,
    reload: apply,
    async close() {
      const old = pushers;
      pushers = [];
      await Promise.all(old.map((pusher) => pusher.close()));
    },
    pushers: () => pushers,
  };
}
