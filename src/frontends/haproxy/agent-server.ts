// HAProxy agent-check server: one line in (the node name from agent-send), one verdict line out, close.

import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { formatHostPort, listenOn } from '../../config/address.js';
import { compileAllowList, peerAddress } from '../../config/cidr.js';
import { ConnectionGate, WarnLimiter } from '../../core/connection-gate.js';
import { isNodeName } from '../../core/names.js';
import { formatAgentReply, NO_CHANGE_REPLY, replyResult } from './reply.js';
import { AgentEvidence } from './agent-evidence.js';
import type { ListenAddress } from '../../config/address.js';
import type { AllowList } from '../../config/cidr.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import type { NodeVerdict, SnapshotSource } from '../../core/snapshot.js';
import type { Frontend, FrontendContext } from '../frontend.js';
import type { Metrics } from '../../operator/metrics/registry.js';

/** Longest request line accepted (node names are far shorter); longer ones get the no-change reply. */
export const MAX_REQUEST_LINE_BYTES = 256;

export type HaproxyAgentServerOptions = {
  source: SnapshotSource;
  listen: ListenAddress;
  /** Connections held at once; at the cap the oldest connection that has sent no line yet gives way. */
  maxConnections: number;
  /** Connections held at once from one peer address, with the same give-way rule (default: maxConnections). */
  maxConnectionsPerPeer?: number;
  /** CIDRs that may connect (empty or absent: any peer); others are closed at accept. */
  allow?: readonly string[];
  /** Time a client has, from connecting, to send its line. */
  idleTimeoutMs: number;
  maxLineBytes?: number;
  logger: Logger;
  metrics?: Metrics;
  /** Epoch ms, for rate-limiting flood warnings (default Date.now). */
  clock?: () => number;
  /** Told every answered check of a known node (the agent evidence of the sync model). */
  onAnswer?: (node: string, peer: string, reply: string) => void;
};

type AgentLimits = Pick<HaproxyAgentServerOptions, 'maxConnections' | 'maxConnectionsPerPeer' | 'idleTimeoutMs' | 'maxLineBytes' | 'allow'>;

/**
 * The agent-check TCP server. Answers come from the current snapshot only: a request
 * never waits for a probe, so HAProxy's check timeout is never spent on a node.
 *
 * @example
 * const agent = new HaproxyAgentServer({ source: core, listen: { host: '127.0.0.1', port: 5555 },
 *   maxConnections: 4096, idleTimeoutMs: 5000, logger });
 * await agent.start();
 * // echo px01 | nc 127.0.0.1 5555   ->   "up ready 100%"
 */
export class HaproxyAgentServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private options: HaproxyAgentServerOptions;
  private maxLineBytes: number;
  private closing: Promise<void> | null = null;
  private allowList: AllowList;
  private readonly gate: ConnectionGate<Socket>;
  private readonly warnings: WarnLimiter;

  constructor(options: HaproxyAgentServerOptions) {
    this.options = options;
    this.maxLineBytes = options.maxLineBytes ?? MAX_REQUEST_LINE_BYTES;
    this.allowList = compileAllowList(options.allow ?? []);
    this.gate = new ConnectionGate(gateLimits(options));
    this.warnings = new WarnLimiter(10_000, options.clock ?? Date.now);
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    // Accept errors (EMFILE under a connection flood) must not end the process; the listener keeps going.
    this.server.on('error', (error) => this.options.logger.warn({ err: error }, 'haproxy agent listener error'));
  }

  /** Binds the listener; rejects with the OS error (EADDRINUSE, EACCES) when it cannot. */
  async start(): Promise<void> {
    const { host, port } = this.options.listen;
    try {
      await listenOn(this.server, { host, port, backlog: 1024 });
    } catch (error) {
      throw new Error(`haproxy.agent.listen: cannot listen on ${formatHostPort(host, port)}: ${(error as Error).message}`, { cause: error });
    }
    this.options.logger.info({ listen: this.address() }, 'haproxy agent listening');
  }

  /** The bound address (a real port when configured with port 0), or null before start/after close. */
  address(): ListenAddress | null {
    const bound = this.server.address();
    if (!bound || typeof bound === 'string') return null;
    return { host: bound.address, port: bound.port };
  }

  /** Applies new limits to connections accepted from now on (the listener stays). */
  updateLimits(limits: AgentLimits): void {
    this.options = { ...this.options, ...limits };
    this.maxLineBytes = limits.maxLineBytes ?? MAX_REQUEST_LINE_BYTES;
    this.allowList = compileAllowList(limits.allow ?? []);
    this.gate.updateLimits(gateLimits(this.options));
  }

  /** Connections held right now (admitted, not yet closed or evicted). */
  connections(): number {
    // The gate's count: an evicted socket is gone from it at once, before its 'close' event arrives.
    return this.gate.size();
  }

  /** Stops accepting; connections in flight get their answer (they are short by construction). Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      // A client that sends nothing would hold close() until its deadline; it gets nothing anyway.
      for (const socket of this.sockets) if (socket.bytesRead === 0) socket.destroy();
    });
    return this.closing;
  }

  /** Stops now, dropping every connection. */
  async destroy(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await this.close();
  }

  /** Per-result counter children, so a check does not hash a label object (this is the hot path). */
  private readonly counters = new Map<string, { inc(): void }>();
  /** Formatted replies per verdict object: verdicts are immutable, so one formatting serves every check. */
  private readonly replies = new WeakMap<NodeVerdict, string>();

  private count(result: string): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    let counter = this.counters.get(result);
    if (!counter) {
      counter = metrics.agentRequests.labels({ result });
      this.counters.set(result, counter);
    }
    counter.inc();
  }

  private replyFor(verdict: NodeVerdict | undefined): string {
    if (!verdict) return formatAgentReply(verdict);
    let reply = this.replies.get(verdict);
    if (reply === undefined) {
      reply = formatAgentReply(verdict);
      this.replies.set(verdict, reply);
    }
    return reply;
  }

  /** Logs a refused or evicted peer at most once per 10 s per peer and reason (a flood must not flood the log). */
  private warnPeer(peer: string, reason: string, message: string): void {
    const held = this.warnings.take(`${reason} ${peer}`);
    if (held !== null) this.options.logger.warn({ remote: peer, reason, suppressed: held }, message);
  }

  private accept(socket: Socket): void {
    const { logger } = this.options;
    socket.on('error', (error: NodeJS.ErrnoException) => logger.debug({ err: error, code: error.code }, 'haproxy agent connection error'));
    const peer = peerAddress(socket.remoteAddress);
    if (this.closing) {
      this.count('rejected');
      socket.destroy();
      return;
    }
    if (!this.allowList.allows(peer)) {
      this.count('not_allowed');
      this.warnPeer(peer, 'not_allowed', 'haproxy agent connection from an address outside haproxy.agent.allow; closed');
      socket.destroy();
      return;
    }
    const admission = this.gate.admit(socket, peer);
    if (!admission.admitted) {
      this.count('rejected');
      this.warnPeer(peer, admission.reason, 'haproxy agent connection cap reached and every connection is busy; refused');
      socket.destroy();
      return;
    }
    if (admission.evicted > 0) {
      for (let i = 0; i < admission.evicted; i += 1) this.count('evicted');
      this.warnPeer(peer, admission.reason ?? 'evicted', 'haproxy agent connection cap reached; closed the oldest connection that had sent no line');
    }
    this.sockets.add(socket);
    let chunks: Buffer[] = [];
    let length = 0;
    let answered = false;

    // An absolute deadline, not an idle timer: a client dripping one byte at a time gets no more time.
    const deadline = setTimeout(() => {
      if (answered) return socket.destroy();
      this.count('timeout');
      logger.debug({ remote: socket.remoteAddress, bytes: length }, 'haproxy agent client sent no line in time');
      socket.destroy();
    }, this.options.idleTimeoutMs);
    deadline.unref();
    socket.once('close', () => {
      clearTimeout(deadline);
      this.gate.release(socket);
      this.sockets.delete(socket);
      chunks = [];
    });

    const answer = (reply: string, result: string): void => {
      answered = true;
      this.gate.busy(socket); // a complete line: this connection no longer gives way to newcomers
      chunks = [];
      this.count(result);
      // end() flushes the reply and half-closes; the deadline destroys a peer that never closes its side.
      // Once flushed the answer is the kernel's: a peer holding the socket open may give way again.
      socket.once('finish', () => this.gate.markIdle(socket));
      if (!socket.destroyed) socket.end(reply);
    };

    const handleLine = (line: Buffer): void => {
      const name = line.toString('latin1').trim();
      // Anything the config would not accept as a node name cannot be a node: a bad request.
      if (!isNodeName(name)) {
        logger.debug({ remote: socket.remoteAddress, bytes: line.length }, 'haproxy agent request is not a node name');
        answer(NO_CHANGE_REPLY, 'bad_request');
        return;
      }
      const verdict = this.options.source.published().get(name);
      const reply = this.replyFor(verdict);
      answer(reply, replyResult(verdict));
      if (verdict) this.options.onAnswer?.(name, peer, reply);
    };

    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      const end = indexOfLineEnd(chunk);
      if (end >= 0 && length + end <= this.maxLineBytes) {
        // The usual case (HAProxy sends "name\n" in one segment) needs no copy.
        handleLine(chunks.length === 0 ? chunk.subarray(0, end) : Buffer.concat([...chunks, chunk.subarray(0, end)]));
        return;
      }
      length += chunk.length;
      if (length > this.maxLineBytes) {
        logger.debug({ remote: socket.remoteAddress, limit: this.maxLineBytes }, 'haproxy agent request line too long');
        answer(NO_CHANGE_REPLY, 'bad_request');
        return;
      }
      chunks.push(chunk);
    });

    // Half-close before a newline: the bytes so far are the line (HAProxy always sends one,
    // hand-made `printf px01 | nc` checks may not).
    socket.on('end', () => {
      if (answered) return;
      if (length === 0) {
        answered = true;
        this.gate.busy(socket);
        this.count('bad_request');
        socket.end();
        return;
      }
      handleLine(Buffer.concat(chunks));
    });
  }
}

function gateLimits(options: AgentLimits): { maxConnections: number; maxPerPeer: number } {
  return { maxConnections: options.maxConnections, maxPerPeer: options.maxConnectionsPerPeer ?? options.maxConnections };
}

function indexOfLineEnd(chunk: Buffer): number {
  const lf = chunk.indexOf(0x0a);
  const cr = chunk.indexOf(0x0d);
  if (lf < 0) return cr;
  if (cr < 0) return lf;
  return Math.min(lf, cr);
}

/** The agent front-end, with its bound address for tests and `drainwatch print haproxy`. */
export type HaproxyAgentFrontend = Frontend & { address(): ListenAddress | null; connections(): number };

/**
 * The `haproxy-agent` front-end: serves `haproxy.agent` (null disables it). A reload that
 * changes the listen address moves the listener; other settings apply to new connections.
 *
 * @example DEFAULT_FRONTENDS = [createAdminApi, createHaproxyAgent]
 */
export function createHaproxyAgent(context: FrontendContext): HaproxyAgentFrontend {
  const logger = context.logger.child({ frontend: 'haproxy-agent' });
  let server: HaproxyAgentServer | null = null;
  let serving: string | null = null;
  // Which HAProxy asked about which node, when, and what it was told (issue 12): haproxy-agent:<peer> targets.
  const evidence = context.sync
    ? new AgentEvidence({ sync: context.sync, source: context.source, clock: context.clock, expectedIntervalMs: () => context.config().haproxy.agent?.expected_interval ?? 2000 })
    : null;
  const limitsOf = (agent: NonNullable<Config['haproxy']['agent']>) => ({
    maxConnections: agent.max_connections,
    idleTimeoutMs: agent.idle_timeout,
    maxLineBytes: agent.max_line_bytes,
    maxConnectionsPerPeer: agent.max_connections_per_peer,
    allow: agent.allow,
  });

  const open = async (): Promise<void> => {
    const agent = context.config().haproxy.agent;
    if (!agent) return;
    const next = new HaproxyAgentServer({
      source: context.source,
      listen: agent.listen,
      ...limitsOf(agent),
      logger,
      metrics: context.metrics,
      clock: context.clock,
      ...(evidence ? { onAnswer: (node: string, peer: string, reply: string) => evidence.record(node, peer, reply) } : {}),
    });
    await next.start();
    server = next;
    serving = agent.listen.text;
    evidence?.start();
  };

  /** Servers closing (after a move or close()), so destroy() can still drop their connections. */
  const closing = new Set<HaproxyAgentServer>();
  const shut = async (): Promise<void> => {
    const current = server;
    server = null;
    serving = null;
    if (!current) return;
    closing.add(current);
    await current.close().finally(() => closing.delete(current));
  };

  return {
    name: 'haproxy-agent',
    start: open,
    async reload() {
      const agent = context.config().haproxy.agent;
      if (agent && server && agent.listen.text === serving) {
        server.updateLimits(limitsOf(agent));
        return;
      }
      if (!agent && !server) return;
      await shut();
      try {
        await open();
      } catch (error) {
        logger.error({ err: error }, 'haproxy agent could not move to its new settings; HAProxy keeps the last state it was told');
      }
    },
    async close() {
      evidence?.close();
      await shut();
    },
    async destroy() {
      evidence?.close();
      const all = [...closing, ...(server ? [server] : [])];
      server = null;
      serving = null;
      await Promise.all(all.map((each) => each.destroy()));
    },
    address: () => server?.address() ?? null,
    connections: () => server?.connections() ?? 0,
  };
}
