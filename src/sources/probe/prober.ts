// The status prober: one GET of /api/client/v2/status per probe over undici's dispatch(), classified into a ProbeObservation.

import { createSecureContext } from 'node:tls';
import { Client, buildConnector } from 'undici';
import { sanitize } from '../../core/text.js';
import { describeNetworkError } from '../http-client.js';
import { classifyError, httpReason, maintenanceMessage } from './classify.js';
import { DeadlineQueue } from './deadlines.js';
import type { Dispatcher } from 'undici';
import type { HttpTlsOptions } from '../http-client.js';
import type { Expirable } from './deadlines.js';
import type { NodeSpec, ProbeObservation, ProbeReason } from '../../core/verdict.js';

export { classifyError } from './classify.js';

export type ProberOptions = {
  /** Whole-probe deadline in ms (connect + headers + body). */
  timeoutMs: number;
  /** Largest body consumed for connection reuse; larger ones are cut off (default 64 KiB). */
  bodyLimit?: number;
  tls?: HttpTlsOptions;
  /** Keep-alive idle time for probe connections (default 30 s). */
  keepAliveMs?: number;
  clock?: () => number;
};

/** Receives one probe's observation, exactly once (the scheduler's per-node object is one). */
export type ProbeSink = { settle(observation: ProbeObservation): void };

/** How much of a 503 body is read to find the node's maintenance message. */
const MESSAGE_BYTES = 4096;
/** Request headers, shared by every probe (undici reads them, never changes them). */
const HEADERS = ['accept', 'application/json', 'user-agent', 'drainwatch'];

/**
 * New connections opened at once (TCP connect plus TLS handshake). A TLS handshake costs Node
 * 2-3 ms of CPU: hundreds started together (start-up, or a fleet coming back) all outlast the
 * probe timeout, are torn down half done and start over, and the prober never converges. Probes
 * past this bound wait for a turn (their deadline running), so the handshakes in progress finish.
 */
const MAX_CONNECTING = 32;

/** The abort reasons the prober itself gives (matched by identity, never shown). */
const DEADLINE = Object.assign(new Error('probe deadline'), { code: 'DW_PROBE_DEADLINE' });
const BODY_CUT = Object.assign(new Error('probe body over the limit'), { code: 'DW_PROBE_BODY_CUT' });

/** What every node's probe shares: settings, the deadline queue and the undici connector. */
type Shared = {
  clock: () => number;
  timeoutMs: number;
  bodyLimit: number;
  deadlines: DeadlineQueue;
  gate: ConnectGate;
  client(origin: string): Client;
};

/** Bounds how many probes may be opening a new connection at once (see MAX_CONNECTING). */
class ConnectGate {
  private active = 0;
  private queue: NodeProbe[] = [];
  private head = 0;

  /** Takes a turn now (true), or queues `probe` for one (false). */
  enter(probe: NodeProbe): boolean {
    if (this.active < MAX_CONNECTING) {
      this.active += 1;
      return true;
    }
    this.queue.push(probe);
    return false;
  }

  /** A turn ends: the next queued probe still waiting gets it. */
  leave(): void {
    this.active -= 1;
    while (this.active < MAX_CONNECTING && this.head < this.queue.length) {
      const next = this.queue[this.head++] as NodeProbe;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      if (!next.gated) continue; // expired or aborted while it waited
      this.active += 1;
      next.admit();
    }
  }
}

/**
 * One node's probe state, allocated once per status URL and reused by every probe of it: it is the
 * undici dispatch handler (so a probe costs no closures, streams or AbortController) and the
 * deadline queue's entry. undici 7's Client calls these legacy handler methods directly; a
 * handler with the newer onRequestStart/onResponse* methods gets wrapped (a controller object
 * and parsed headers per request), which is the allocation this class exists to avoid.
 */
class NodeProbe implements Expirable {
  deadlineTicket = 0;
  client: Client | null = null;
  /** Queued at the connect gate: the request is not dispatched yet. */
  gated = false;
  /** Holds one of the connect gate's turns until this probe settles. */
  private turn = false;
  /** The client has an open connection (undici's connect/disconnect events). */
  private connected = false;
  /** The last probe failed: its next one does not wait at the gate (failing nodes are capped by the scheduler). */
  private lastFailed = false;
  private readonly dispatchOptions: Dispatcher.DispatchOptions | null;
  private readonly invalid: string | null;
  private readonly origin: string;
  private sink: ProbeSink | null = null;
  private started = 0;
  private latencyMs = 0;
  private status = 0;
  private received = 0;
  private message: Buffer[] | null = null;
  private messageBytes = 0;
  private abortRequest: ((error?: Error) => void) | null = null;
  private timedOut = false;
  private outerReason: unknown = null;

  constructor(
    private readonly shared: Shared,
    statusUrl: string,
  ) {
    let url: URL | null = null;
    try {
      url = new URL(statusUrl);
    } catch {
      // reported on every probe below, as the request would have been
    }
    const usable = url !== null && (url.protocol === 'http:' || url.protocol === 'https:');
    this.invalid = usable ? null : `invalid status URL ${sanitize(statusUrl)}`;
    this.origin = usable ? (url as URL).origin : '';
    this.dispatchOptions = usable ? { path: `${(url as URL).pathname}${(url as URL).search}`, method: 'GET', headers: HEADERS } : null;
  }

  get busy(): boolean {
    return this.sink !== null;
  }

  start(sink: ProbeSink): void {
    const { clock, timeoutMs, deadlines } = this.shared;
    this.sink = sink;
    this.started = clock();
    this.latencyMs = 0;
    this.status = 0;
    this.received = 0;
    this.message = null;
    this.messageBytes = 0;
    this.abortRequest = null;
    this.timedOut = false;
    this.outerReason = null;
    if (!this.dispatchOptions) return this.fail(new TypeError(this.invalid ?? 'invalid status URL'));
    deadlines.add(this, this.started + timeoutMs);
    if (!this.client) {
      const client = this.shared.client(this.origin);
      client.on('connect', () => (this.connected = this.client === client));
      client.on('disconnect', () => {
        if (this.client === client) this.connected = false;
      });
      this.client = client;
    }
    if (!this.connected && !this.lastFailed) {
      if (!this.shared.gate.enter(this)) {
        this.gated = true;
        return;
      }
      this.turn = true;
    }
    this.client.dispatch(this.dispatchOptions as Dispatcher.DispatchOptions, this);
  }

  /** The connect gate's turn came: dispatch now (the deadline has been running all along). */
  admit(): void {
    this.gated = false;
    this.turn = true;
    if (!this.sink || !this.client) return this.release();
    this.client.dispatch(this.dispatchOptions as Dispatcher.DispatchOptions, this);
  }

  /** The deadline passed: abort the request; its onError settles the probe as a timeout. */
  expire(): void {
    this.timedOut = true;
    if (this.gated) {
      // Never dispatched: nothing to abort, and its connection was never started.
      this.gated = false;
      return this.timeout();
    }
    this.cancel(DEADLINE);
  }

  /** Aborts the probe in flight for another reason (a caller's signal, destroy). */
  abortWith(reason: unknown): void {
    if (!this.sink) return;
    this.outerReason = reason ?? new Error('probe aborted');
    if (this.gated) {
      this.gated = false;
      return this.fail(this.outerReason);
    }
    this.cancel(reason instanceof Error ? reason : new Error(String(reason)));
  }

  // --- undici dispatch handler ---

  onConnect(abort: (error?: Error) => void): void {
    this.abortRequest = abort;
  }

  onHeaders(statusCode: number): boolean {
    if (statusCode < 200) return true; // 1xx: the real answer follows
    this.status = statusCode;
    this.latencyMs = this.shared.clock() - this.started;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.received += chunk.length;
    if (this.status === 503 && this.messageBytes < MESSAGE_BYTES) {
      // A copy of just what the message needs: the chunk itself may be a view of a large read.
      const part = Buffer.from(chunk.subarray(0, MESSAGE_BYTES - this.messageBytes));
      (this.message ??= []).push(part);
      this.messageBytes += part.length;
    }
    // Past the limit the connection is not worth saving: the answer is decided by its status.
    if (this.received > this.shared.bodyLimit) this.abortRequest?.(BODY_CUT);
    return true;
  }

  onComplete(): void {
    this.respond(false);
  }

  onError(error: Error): void {
    if (!this.sink) return;
    // Once the status line is in, the answer is decided by it; the body only mattered for reuse.
    if (this.status >= 200) return this.respond(true);
    if (this.timedOut) return this.timeout();
    this.fail(this.outerReason ?? error);
  }

  // --- outcomes ---

  private respond(bodyFailed: boolean): void {
    const status = this.status;
    if (status === 503) {
      const detail = bodyFailed ? '' : maintenanceMessage(this.message);
      return this.settle('maintenance', 'maintenance', detail, status, this.latencyMs);
    }
    if (status === 200) return this.settle('available', 'ok', '', status, this.latencyMs);
    this.settle('failure', httpReason(status), `HTTP ${status}`, status, this.latencyMs);
  }

  private timeout(): void {
    this.settle('failure', 'timeout', `no answer within ${this.shared.timeoutMs}ms`, null, this.shared.clock() - this.started);
  }

  private fail(error: unknown): void {
    this.settle('failure', classifyError(error), describeNetworkError(error), null, this.shared.clock() - this.started);
  }

  private settle(outcome: ProbeObservation['outcome'], reason: ProbeReason, detail: string, status: number | null, latencyMs: number): void {
    const sink = this.sink;
    if (!sink) return;
    this.sink = null;
    this.abortRequest = null;
    this.message = null;
    this.lastFailed = outcome === 'failure';
    this.shared.deadlines.cancel(this);
    this.release();
    sink.settle({ outcome, reason, detail, status, latencyMs, at: this.shared.clock() });
  }

  private release(): void {
    if (!this.turn) return;
    this.turn = false;
    this.shared.gate.leave();
  }

  private cancel(reason: Error): void {
    if (!this.sink) return;
    if (this.abortRequest) {
      this.abortRequest(reason); // on the socket: undici errors the request (onError) and drops the socket
    } else if (this.client) {
      // Still connecting: only destroying the node's client stops the connect; a fresh one follows.
      const client = this.client;
      this.client = null;
      client.destroy(reason).catch(() => undefined);
    }
    // Both paths call onError synchronously; this is the backstop should undici ever not.
    if (this.sink) {
      if (this.timedOut) this.timeout();
      else this.fail(this.outerReason ?? reason);
    }
  }
}

/**
 * Probes nodes over keep-alive connections, one undici Client per node (probes of one node never
 * overlap, so one connection each), with one deadline queue for every probe in flight.
 *
 * @example
 * const prober = new Prober({ timeoutMs: 800 });
 * const observation = await prober.probe(spec);
 * await prober.close();
 */
export class Prober {
  private readonly probes = new Map<string, NodeProbe>();
  /** Probes started beside a busy one of the same URL (only through `probe()`), until they settle. */
  private readonly extra = new Set<NodeProbe>();
  private readonly shared: Shared;
  private readonly connector: buildConnector.connector;
  private readonly keepAliveMs: number;

  constructor(options: ProberOptions) {
    const tls = options.tls ?? {};
    this.keepAliveMs = options.keepAliveMs ?? 30_000;
    this.connector = buildConnector({
      timeout: options.timeoutMs,
      rejectUnauthorized: !tls.insecureSkipVerify,
      // One secure context for every node: a `ca` option alone is parsed again on every handshake.
      ...(tls.ca ? { secureContext: createSecureContext({ ca: tls.ca }) } : {}),
      // With one servername for every node, undici's session cache (keyed by it) would offer one
      // node's TLS session to all the others: each offer costs a setSession and is refused.
      ...(tls.servername ? { servername: tls.servername, maxCachedSessions: 0 } : {}),
    });
    this.shared = {
      clock: options.clock ?? Date.now,
      timeoutMs: options.timeoutMs,
      bodyLimit: options.bodyLimit ?? 64 * 1024,
      deadlines: new DeadlineQueue(options.clock ? { clock: options.clock } : {}),
      gate: new ConnectGate(),
      client: (origin) =>
        new Client(origin, {
          pipelining: 1,
          keepAliveTimeout: this.keepAliveMs,
          keepAliveMaxTimeout: this.keepAliveMs,
          // The deadline queue bounds every phase; undici's own per-request timers would only add cost.
          headersTimeout: 0,
          bodyTimeout: 0,
          maxResponseSize: -1,
          connect: this.connector,
        }),
    };
  }

  /** Starts one probe of `node`; `sink.settle` gets its observation exactly once (never throws). */
  run(node: Pick<NodeSpec, 'statusUrl'>, sink: ProbeSink): void {
    this.start(node.statusUrl, sink);
  }

  /** Probes one node; never throws: every failure becomes an observation. */
  probe(node: Pick<NodeSpec, 'statusUrl'>, signal?: AbortSignal): Promise<ProbeObservation> {
    return new Promise((resolve) => {
      let onAbort: (() => void) | null = null;
      const probe = this.start(node.statusUrl, {
        settle: (observation) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          resolve(observation);
        },
      });
      if (!signal || !probe.busy) return;
      if (signal.aborted) return probe.abortWith(signal.reason);
      onAbort = () => probe.abortWith(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Aborts the probe of `node` in flight, if any. */
  abort(node: Pick<NodeSpec, 'statusUrl'>): void {
    this.probes.get(node.statusUrl)?.abortWith(new Error('probe aborted'));
  }

  /** Drops a node's connection (it left the inventory or its URL changed); in-flight work finishes first. */
  forget(node: Pick<NodeSpec, 'statusUrl'>): void {
    const probe = this.probes.get(node.statusUrl);
    if (!probe) return;
    this.probes.delete(node.statusUrl);
    probe.client?.close().catch(() => undefined);
  }

  /** Lets open connections finish, then closes them. */
  async close(): Promise<void> {
    await Promise.all([...this.probes.values(), ...this.extra].map((probe) => probe.client?.close().catch(() => undefined)));
  }

  /** Drops every connection now. */
  async destroy(): Promise<void> {
    const all = [...this.probes.values(), ...this.extra];
    for (const probe of all) probe.abortWith(new Error('prober destroyed'));
    await Promise.all(all.map((probe) => probe.client?.destroy().catch(() => undefined)));
    this.shared.deadlines.clear();
  }

  private start(statusUrl: string, sink: ProbeSink): NodeProbe {
    let probe = this.probes.get(statusUrl);
    if (!probe) {
      probe = new NodeProbe(this.shared, statusUrl);
      this.probes.set(statusUrl, probe);
    }
    if (probe.busy) {
      // A second probe of a URL already in flight (probe() callers only): its own state and connection.
      const extra = new NodeProbe(this.shared, statusUrl);
      this.extra.add(extra);
      extra.start({
        settle: (observation) => {
          this.extra.delete(extra);
          extra.client?.close().catch(() => undefined);
          sink.settle(observation);
        },
      });
      return extra;
    }
    probe.start(sink);
    return probe;
  }
}
