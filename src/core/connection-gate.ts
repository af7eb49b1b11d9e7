// Connection admission for listeners (pure: no sockets): a total and a per-peer cap where idle connections give way.

/** Anything a listener can drop: a socket, in practice. */
export type Droppable = { destroy(): void };

export type ConnectionGateLimits = {
  /** Connections held at once across all peers. */
  maxConnections: number;
  /** Connections held at once from one peer address. */
  maxPerPeer: number;
};

/** What `admit` did: `evicted` idle connections were destroyed to make room; `refused` means nothing was idle. */
export type Admission = { admitted: true; evicted: number; reason: 'peer_cap' | 'total_cap' | null } | { admitted: false; reason: 'peer_cap' | 'total_cap' };

type Entry = { peer: string; idle: boolean };

/**
 * Caps connections in total and per peer. A connection is *idle* from accept until it has sent
 * a complete request (agent line, HTTP headers) and again while a keep-alive connection waits;
 * when a cap is reached the oldest idle connection (of that peer, or overall) is closed to make
 * room, so a flood of idle connections — from any address, including the load balancer's own —
 * can delay a well-behaved client by one accept at most and never refuse it. Only when every
 * held connection is busy is the new one refused.
 *
 * @example
 * const gate = new ConnectionGate({ maxConnections: 4096, maxPerPeer: 256 });
 * if (!gate.admit(socket, socket.remoteAddress ?? '').admitted) socket.destroy();
 * socket.once('data', () => gate.busy(socket));
 * socket.once('close', () => gate.release(socket));
 */
export class ConnectionGate<T extends Droppable = Droppable> {
  private limits: ConnectionGateLimits;
  private readonly entries = new Map<T, Entry>();
  /** Idle connections, oldest first (Map keeps insertion order). */
  private readonly idle = new Map<T, string>();
  private readonly idleByPeer = new Map<string, Map<T, true>>();
  private readonly countByPeer = new Map<string, number>();

  constructor(limits: ConnectionGateLimits) {
    this.limits = limits;
  }

  /** New limits for connections admitted from now on; held ones stay until they end. */
  updateLimits(limits: ConnectionGateLimits): void {
    this.limits = limits;
  }

  /** Connections held now (all peers, or one). */
  size(peer?: string): number {
    return peer === undefined ? this.entries.size : (this.countByPeer.get(peer) ?? 0);
  }

  /** Takes a new connection (idle until `busy`), closing idle ones to stay within the caps. */
  admit(connection: T, peer: string): Admission {
    let evicted = 0;
    let reason: 'peer_cap' | 'total_cap' | null = null;
    while ((this.countByPeer.get(peer) ?? 0) >= this.limits.maxPerPeer) {
      const oldest = this.idleByPeer.get(peer)?.keys().next().value;
      if (oldest === undefined) return { admitted: false, reason: 'peer_cap' };
      this.evict(oldest);
      evicted += 1;
      reason = 'peer_cap';
    }
    while (this.entries.size >= this.limits.maxConnections) {
      const oldest = this.idle.keys().next().value;
      if (oldest === undefined) return { admitted: false, reason: 'total_cap' };
      this.evict(oldest);
      evicted += 1;
      reason ??= 'total_cap';
    }
    this.entries.set(connection, { peer, idle: false });
    this.countByPeer.set(peer, (this.countByPeer.get(peer) ?? 0) + 1);
    this.markIdle(connection);
    return { admitted: true, evicted, reason };
  }

  /** The connection sent a complete request: it is no longer a candidate for eviction. */
  busy(connection: T): void {
    const entry = this.entries.get(connection);
    if (!entry || !entry.idle) return;
    entry.idle = false;
    this.idle.delete(connection);
    const peerIdle = this.idleByPeer.get(entry.peer);
    peerIdle?.delete(connection);
    if (peerIdle?.size === 0) this.idleByPeer.delete(entry.peer);
  }

  /** The connection waits again (keep-alive between requests): it may give way, as the newest idle one. */
  markIdle(connection: T): void {
    const entry = this.entries.get(connection);
    if (!entry || entry.idle) return;
    entry.idle = true;
    this.idle.set(connection, entry.peer);
    let peerIdle = this.idleByPeer.get(entry.peer);
    if (!peerIdle) {
      peerIdle = new Map();
      this.idleByPeer.set(entry.peer, peerIdle);
    }
    peerIdle.set(connection, true);
  }

  /** The connection ended (call from its close event); unknown connections are ignored. */
  release(connection: T): void {
    const entry = this.entries.get(connection);
    if (!entry) return;
    this.busy(connection);
    this.entries.delete(connection);
    const count = (this.countByPeer.get(entry.peer) ?? 1) - 1;
    if (count <= 0) this.countByPeer.delete(entry.peer);
    else this.countByPeer.set(entry.peer, count);
  }

  private evict(connection: T): void {
    this.release(connection);
    connection.destroy();
  }
}

/**
 * Lets a warning through at most once per `intervalMs` per key, counting what it held back, so
 * a flood is visible in the log without the log becoming the flood.
 *
 * @example
 * const limiter = new WarnLimiter(10_000, Date.now);
 * const held = limiter.take('127.0.0.9'); // number held back since the last one, or null to stay quiet
 */
export class WarnLimiter {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(private readonly intervalMs: number, private readonly clock: () => number) {}

  take(key: string): number | null {
    const now = this.clock();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.held += 1;
      return null;
    }
    if (this.last.size > 1024) this.last.clear(); // many peers: forget, at worst one extra line each
    this.last.set(key, { at: now, held: 0 });
    return seen?.held ?? 0;
  }
}
