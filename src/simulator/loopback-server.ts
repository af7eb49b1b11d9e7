// A small wrapper giving an http(s) server on loopback an idempotent close() and destroy().

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopback } from './addressing.js';
import { SimulatorError, badInput } from './errors.js';

/** Wraps a listening-to-be server so the simulator's side listeners share one lifecycle. */
export class LoopbackServer {
  readonly server: Server;
  readonly scheme: 'http' | 'https';
  #host = '127.0.0.1';
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(server: Server, scheme: 'http' | 'https') {
    this.server = server;
    this.scheme = scheme;
  }

  /** Listens on host:port (port 0 picks a free one). */
  async listen(port = 0, host = '127.0.0.1'): Promise<void> {
    if (!isLoopback(host)) throw badInput(`the simulator only binds to loopback; got ${JSON.stringify(host)}.`);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      throw new SimulatorError('SIM_LISTEN_FAILED', `could not listen on ${host}:${port}: ${(error as Error).message}`, { cause: error });
    });
    this.#host = host;
    this.#port = (this.server.address() as AddressInfo).port;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `${this.scheme}://${host}:${this.#port}`;
  }

  /** Stops listening, ends idle keep-alive sockets, and destroys whatever is left after `graceMs`. */
  close(graceMs = 1000): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        this.server.closeAllConnections();
        resolve();
        return;
      }
      const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.#closing;
  }

  /** Destroys every socket now. */
  destroy(): void {
    void this.close(0);
    this.server.closeAllConnections();
  }
}
