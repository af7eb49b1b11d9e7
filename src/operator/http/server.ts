// The shared HTTP listener: serves the app from app.ts on @hono/node-server, with an allow-list, connection caps and graceful close.

import { createAdaptorServer } from '@hono/node-server';
import { listenOn } from '../../config/address.js';
import { compileAllowList, peerAddress } from '../../config/cidr.js';
import { ConnectionGate, WarnLimiter } from '../../core/connection-gate.js';
import type { Hono } from 'hono';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../../core/logger.js';
import type { ListenAddress } from '../../config/address.js';
import type { AllowList } from '../../config/cidr.js';

/** The `http` settings the listener enforces; read again at every accept, so a reload applies to new connections. */
export type HttpLimits = {
  allow: readonly string[];
  max_connections: number;
  max_connections_per_peer: number;
  headers_timeout: number;
  request_timeout: number;
};

export type HttpServerOptions = {
  listen: ListenAddress;
  logger: Logger;
  /** Current limits (default: no allow-list, 1024 connections, 128 per peer, 10 s for headers, 30 s per request). */
  limits?: () => HttpLimits;
  /** Called per connection closed at accept or evicted (`not_allowed`, `evicted`, `refused`), for metrics. */
  onRefused?: (reason: 'not_allowed' | 'evicted' | 'refused') => void;
};

const DEFAULT_LIMITS: HttpLimits = { allow: [], max_connections: 1024, max_connections_per_peer: 128, headers_timeout: 10_000, request_timeout: 30_000 };

/**
 * Serves a hono app on host:port.
 *
 * @example
 * const server = new HttpServer(app, { listen: { host: '127.0.0.1', port: 9555 }, logger });
 * await server.start();
 */
export class HttpServer {
  private server: Server | null = null;
  /** The server once close() or destroy() stopped it, and when its last connection went. */
  private stopped: { server: Server; done: Promise<void> } | null = null;
  /** Every accepted socket still open, refused or not: what destroy() cuts. */
  private readonly sockets = new Set<Socket>();
  private readonly gate = new ConnectionGate<Socket>({ maxConnections: DEFAULT_LIMITS.max_connections, maxPerPeer: DEFAULT_LIMITS.max_connections_per_peer });
  private readonly warnings = new WarnLimiter(10_000, Date.now);
  private allowList: { from: readonly string[]; list: AllowList } | null = null;

  constructor(private readonly app: Hono, private readonly options: HttpServerOptions) {}

  async start(): Promise<void> {
    // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval (30 s by
    // default), which lets a slowloris connection live three times its budget.
    const server = createAdaptorServer({ fetch: this.app.fetch, serverOptions: { connectionsCheckingInterval: 1000 } }) as Server;
    server.keepAliveTimeout = 5000;
    this.applyLimits(server);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.admit(server, socket);
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      // Complete headers: this connection no longer gives way; idle again once its response is out (keep-alive).
      const socket = request.socket;
      this.gate.busy(socket);
      response.once('finish', () => this.gate.markIdle(socket));
    });
    await listenOn(server, this.options.listen);
    this.server = server;
  }

  /** Connections held now (all peers). */
  connections(): number {
    return this.gate.size();
  }

  private applyLimits(server: Server): HttpLimits {
    const limits = this.options.limits?.() ?? DEFAULT_LIMITS;
    if (this.allowList?.from !== limits.allow) this.allowList = { from: limits.allow, list: compileAllowList(limits.allow) };
    this.gate.updateLimits({ maxConnections: limits.max_connections, maxPerPeer: limits.max_connections_per_peer });
    // Node requires headersTimeout <= requestTimeout.
    server.requestTimeout = limits.request_timeout;
    server.headersTimeout = Math.min(limits.headers_timeout, limits.request_timeout);
    return limits;
  }

  private admit(server: Server, socket: Socket): void {
    this.applyLimits(server);
    const peer = peerAddress(socket.remoteAddress);
    if (!this.allowList?.list.allows(peer)) {
      this.refuse(peer, 'not_allowed', 'HTTP connection from an address outside http.allow; closed');
      socket.destroy();
      return;
    }
    const admission = this.gate.admit(socket, peer);
    if (!admission.admitted) {
      this.refuse(peer, 'refused', 'HTTP connection cap reached and every connection is busy; refused');
      socket.destroy();
      return;
    }
    socket.once('close', () => this.gate.release(socket));
    if (admission.evicted > 0) {
      for (let i = 0; i < admission.evicted; i += 1) this.options.onRefused?.('evicted');
      const held = this.warnings.take(`evicted ${peer}`);
      if (held !== null) {
        this.options.logger.warn({ remote: peer, reason: admission.reason, suppressed: held }, 'HTTP connection cap reached; closed the oldest connection that had sent no complete request');
      }
    }
  }

  private refuse(peer: string, reason: 'not_allowed' | 'refused', message: string): void {
    this.options.onRefused?.(reason);
    const held = this.warnings.take(`${reason} ${peer}`);
    if (held !== null) this.options.logger.warn({ remote: peer, reason, suppressed: held }, message);
  }

  /** The bound address (useful with port 0). */
  address(): AddressInfo {
    return this.server?.address() as AddressInfo;
  }

  /** Stops accepting, lets in-flight requests finish for `graceMs`, then drops the rest. */
  async close(graceMs = 5000): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeIdleConnections();
    const done = this.stop(server);
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    await done;
    clearTimeout(timer);
  }

  /**
   * Drops every connection now, also while a graceful close() is still waiting on them (a second
   * close() would do nothing then); idempotent. Resolves once the listener is closed.
   */
  destroy(): Promise<void> {
    if (this.server) void this.stop(this.server);
    this.stopped?.server.closeAllConnections();
    // closeAllConnections() covers the sockets the HTTP parser holds; refused or upgraded ones are cut here.
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    return this.stopped?.done ?? Promise.resolve();
  }

  /** Stops accepting (once); the promise settles when the last connection has gone. */
  private stop(server: Server): Promise<void> {
    this.server = null;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    this.stopped = { server, done };
    return done;
  }
}
