// The one HTTP(S) server behind every node listener: takes over accepted sockets and routes each request to its node.

import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import { handleNodeRequest } from './node-http.js';
import { listens } from './sim-node.js';
import type { NodeConnection, SimNode } from './sim-node.js';

export type SimulatorTlsOptions = { key: string | Buffer; cert: string | Buffer };

/** Parses HTTP for every node at once; per-node listeners only accept and hand sockets over. */
export class NodeServer {
  readonly #server: HttpServer;
  readonly #connections = new WeakMap<Socket, NodeConnection>();
  readonly #closed: () => boolean;

  /** `closed` tells whether the fleet is closing: new sockets are refused and finished ones end. */
  constructor(tls: SimulatorTlsOptions | undefined, closed: () => boolean) {
    this.#closed = closed;
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#onRequest(req, res);
    this.#server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createHttpServer(handler);
    this.#server.on('clientError', (_error: Error, socket: Socket) => socket.destroy());
    this.#server.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy());
  }

  /** A socket accepted by `listener` for `node`: tracked on the node, then parsed by the shared server. */
  accept(node: SimNode, listener: NetServer, socket: Socket): void {
    if (node.listener !== listener || !listens(node.phase) || this.#closed()) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {
      // Resets from impatient probers are routine; the HTTP layer reports what matters.
    });
    const conn: NodeConnection = { node, raw: socket, outer: undefined, active: 0, stuck: false };
    node.connections.add(conn);
    this.#connections.set(socket, conn);
    socket.once('close', () => node.connections.delete(conn));
    this.#server.emit('connection', socket);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const conn = this.#connections.get(req.socket) ?? this.#connections.get(tlsParent(req.socket) as Socket);
    if (!conn) {
      req.socket.destroy();
      return;
    }
    conn.outer ??= req.socket;
    handleNodeRequest(conn, req, res, { settled: (c) => this.#settled(c) });
  }

  #settled(conn: NodeConnection): void {
    // While closing, a connection whose last response finished is done for good.
    if (this.#closed() && conn.active === 0) (conn.outer ?? conn.raw).end();
  }
}

/**
 * Node's TLSSocket keeps the TCP socket it wraps in `_parent` (stable since Node 0.x):
 * the only link from an HTTPS request back to the listener that accepted it.
 */
function tlsParent(socket: Socket): Socket | undefined {
  return (socket as Socket & { _parent?: Socket })._parent;
}
