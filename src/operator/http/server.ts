// The shared HTTP listener: serves the app from app.ts on @hono/node-server, with graceful close.

import { createAdaptorServer } from '@hono/node-server';
import { listenOn } from '../../config/address.js';
import type { Hono } from 'hono';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../core/logger.js';
import type { ListenAddress } from '../../config/address.js';

export type HttpServerOptions = { listen: ListenAddress; logger: Logger };

/**
 * Serves a hono app on host:port.
 *
 * @example
 * const server = new HttpServer(app, { listen: { host: '127.0.0.1', port: 9555 }, logger });
 * await server.start();
 */
export class HttpServer {
  private server: Server | null = null;

  constructor(private readonly app: Hono, private readonly options: HttpServerOptions) {}

  async start(): Promise<void> {
    const server = createAdaptorServer({ fetch: this.app.fetch }) as Server;
    server.keepAliveTimeout = 5000;
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    await listenOn(server, this.options.listen);
    this.server = server;
  }

  /** The bound address (useful with port 0). */
  address(): AddressInfo {
    return this.server?.address() as AddressInfo;
  }

  /** Stops accepting, lets in-flight requests finish for `graceMs`, then drops the rest. */
  async close(graceMs = 5000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(timer);
  }
}
