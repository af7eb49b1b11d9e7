// Per-node TCP listeners: binding a whole fleet fast (batches, consecutive ports, one shared port), rebinding and unbinding.

import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Addressing } from './addressing.js';
import { SimulatorError } from './errors.js';
import { listens } from './sim-node.js';
import type { NodeConnection, SimNode } from './sim-node.js';

// Listening on thousands of sockets at once is fast, but bounded batches keep
// memory and the libuv queue flat during a 10,000-node start.
const LISTEN_BATCH = 512;
const SHARED_PORT_ATTEMPTS = 8;
/** Fleets this large take consecutive explicit ports in `ports` mode instead of one bind(0) each. */
const SEQUENTIAL_PORTS_FROM = 500;

/** How the fleet's listeners bind and where their sockets go. */
export type NodeListenersOptions = {
  addressing: Addressing;
  /** `ports`: first node's port (0: free ports); `addresses`: the shared port (0: pick one). */
  basePort: number;
  /** Receives every socket a node's listener accepts. */
  accept: (node: SimNode, listener: NetServer, socket: Socket) => void;
  /** True once the fleet is closed or destroyed. */
  closed: () => boolean;
};

/** Opens and closes the one listener per node (`node.listener`), keeping `node.port` up to date. */
export class NodeListeners {
  readonly #options: NodeListenersOptions;

  constructor(options: NodeListenersOptions) {
    this.#options = options;
  }

  /** Binds every node whose phase listens; returns the shared port in `addresses` mode, 0 in `ports` mode. */
  async listenAll(all: readonly SimNode[]): Promise<number> {
    const { addressing, basePort } = this.#options;
    const running = all.filter((node) => listens(node.phase));
    if (addressing === 'ports') {
      const [first, ...rest] = running;
      if (basePort !== 0 || !first || running.length < SEQUENTIAL_PORTS_FROM) {
        await inBatches(running, (node) => this.bind(node));
        return 0;
      }
      // bind(port 0) makes the kernel search for a free port, which gets slow with
      // tens of thousands of ports in use or in TIME_WAIT (minutes for 10,000 nodes
      // after a benchmark); explicit consecutive ports bind in constant time.
      await this.bind(first);
      let cursor = first.port;
      await inBatches(rest, async (node) => {
        for (let attempt = 1; ; attempt += 1) {
          cursor = cursor >= 65_535 ? 10_000 : cursor + 1;
          node.port = cursor;
          try {
            await this.bind(node);
            return;
          } catch (error) {
            node.port = 0;
            if (attempt >= 1000 || (error as { cause?: { code?: string } }).cause?.code !== 'EADDRINUSE') throw error;
          }
        }
      });
      return 0;
    }
    // Addresses mode: the first node learns a free port, the others reuse it.
    // A fixed basePort is the user's promise, so only an auto-picked port is retried.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const [first, ...rest] = running;
        for (const node of all) node.port = basePort;
        if (first) await this.bind(first);
        const sharedPort = first ? first.port : basePort || (await freePort(all[0]?.address ?? '127.0.0.1'));
        for (const node of all) node.port = sharedPort;
        await inBatches(rest, (node) => this.bind(node));
        return sharedPort;
      } catch (error) {
        const retry = basePort === 0 && attempt < SHARED_PORT_ATTEMPTS && (error as { cause?: { code?: string } }).cause?.code === 'EADDRINUSE';
        if (!retry) throw error;
        await Promise.all(running.map((node) => this.unbind(node)));
      }
    }
  }

  /** Listens on the node's address:port; records the port picked by the OS. */
  async bind(node: SimNode): Promise<void> {
    const listener = createNetServer({ noDelay: true }, (socket) => this.#options.accept(node, listener, socket));
    try {
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen({ host: node.address, port: node.port, backlog: 511 }, () => {
          listener.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      throw new SimulatorError('SIM_LISTEN_FAILED', `${node.name} could not listen on ${node.address}:${node.port}: ${(error as Error).message}`, { cause: error });
    }
    listener.on('error', () => {
      // Accept errors (EMFILE, ...) are transient for a test fleet; the listener keeps going.
    });
    node.port = (listener.address() as AddressInfo).port;
    if (this.#options.closed()) {
      // destroy() ran while this bind was in flight: a late listener would keep the process alive.
      listener.close();
      return;
    }
    node.listener = listener;
  }

  async bindWithRetry(node: SimNode): Promise<void> {
    // The OS may briefly hold the port after a close; a node must come back on the same port.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.bind(node);
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async unbind(node: SimNode): Promise<void> {
    const listener = node.listener;
    node.listener = null;
    // A reboot kills every connection, including calls in progress.
    for (const conn of node.connections) destroyConnection(conn);
    if (listener) await closeListener(listener);
  }
}

export function destroyConnection(conn: NodeConnection): void {
  conn.outer?.destroy();
  conn.raw.destroy();
}

export function closeListener(listener: NetServer): Promise<void> {
  return new Promise((resolve) => {
    // close() stops accepting synchronously; the callback waits for accepted sockets to go.
    if (!listener.listening) {
      resolve();
      return;
    }
    listener.close(() => resolve());
  });
}

async function freePort(host: string): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs `run` over items, LISTEN_BATCH at a time; waits for a whole batch before failing so nothing binds late. */
async function inBatches<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += LISTEN_BATCH) {
    const results = await Promise.allSettled(items.slice(i, i + LISTEN_BATCH).map(run));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
