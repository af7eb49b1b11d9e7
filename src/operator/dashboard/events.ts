// GET /api/v1/events: the dashboard's server-sent stream of snapshots (coalesced) and age heartbeats.

import { nodeToJson } from '../api/node-json.js';
import { peerAddress } from '../../config/cidr.js';
import { WarnLimiter } from '../../core/connection-gate.js';
import { verdictAgeMs } from '../../core/snapshot.js';
import type { Hono } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../core/logger.js';
import type { Snapshot, SnapshotSource } from '../../core/snapshot.js';

export type EventStreamOptions = {
  app: Hono;
  source: SnapshotSource;
  logger: Logger;
  clock: () => number;
  /** Heartbeat interval (default 2 s): refreshes verdict ages and keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** Minimum time between two snapshot events (default 200 ms): bursts of changes are coalesced. */
  minIntervalMs?: number;
  /** Most concurrent streams (default 200); at the cap the oldest slow stream (or the oldest of the busiest peer) gives way. */
  maxClients?: number;
  /** Most concurrent streams from one peer address (default 16); at the cap that peer's oldest slow (or oldest) stream gives way. */
  maxPerPeer?: number;
  /** Current caps, read per new stream (wins over maxClients/maxPerPeer, so a reload applies). */
  caps?: () => { maxClients: number; maxPerPeer: number };
  /** Bytes queued for one client beyond which it is too slow: its stream ends and its socket is destroyed (default 256 KiB). */
  slowBytes?: number;
};

/*
 * Event stream grammar (text/event-stream, one event per blank-line-terminated block):
 *   retry: 2000
 *   event: snapshot      data: {"version", "generated_at", "guard": {"active","down","total"}, "nodes": [NodeJson...]}
 *   event: heartbeat     data: {"version", "generated_at", "age_ms": [number per node, in snapshot order]}
 * A snapshot is sent on connect and after every visible change (coalesced), a heartbeat every `heartbeatMs`.
 */
/**
 * Formats one server-sent event (pure): `data` is JSON on one line, so no line splitting is needed.
 *
 * @example formatEvent('heartbeat', { version: 3 }) // 'event: heartbeat\ndata: {"version":3}\n\n'
 */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The snapshot payload the dashboard renders (same node JSON as GET /api/v1/nodes).
 *
 * @example snapshotPayload(source.snapshot(), Date.now()) // { version, generated_at, guard, nodes }
 */
export function snapshotPayload(snapshot: Snapshot, now: number): object {
  return {
    version: snapshot.version,
    generated_at: new Date(now).toISOString(),
    guard: { active: snapshot.guard.active, down: snapshot.guard.downCount, total: snapshot.guard.total },
    nodes: snapshot.nodes.map((node) => nodeToJson(node, now)),
  };
}

type Client = { controller: ReadableStreamDefaultController<Uint8Array>; peer: string; socket: Socket | null };

// A client this far behind (bytes queued) is too slow; it is dropped and its browser reconnects.
const SLOW_BYTES = 256 * 1024;

/** Behind: something still queued for it (in our stream or in its socket), i.e. not reading as fast as we write. */
function isBehind(client: Client, slowBytes: number): boolean {
  return (client.controller.desiredSize ?? 0) < slowBytes || (client.socket?.writableLength ?? 0) > 0;
}

/** The stream that gives way to a newcomer: the oldest one behind, else the oldest (Sets iterate oldest first). */
function victimAmong(candidates: Iterable<Client>, slowBytes: number): Client | undefined {
  let oldest: Client | undefined;
  for (const client of candidates) {
    if (isBehind(client, slowBytes)) return client;
    oldest ??= client;
  }
  return oldest;
}

/**
 * Registers GET /api/v1/events on `app`. `close()` ends every open stream at once, so the HTTP
 * server's own close does not wait out its grace period for them; it is idempotent.
 *
 * @example
 * const events = createEventStream({ app, source, logger, clock: Date.now });
 * // curl -N 127.0.0.1:9555/api/v1/events
 * events.close();
 */
export function createEventStream(options: EventStreamOptions): { close(): void } {
  const { app, source, logger, clock } = options;
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const minIntervalMs = options.minIntervalMs ?? 200;
  const caps = options.caps ?? (() => ({ maxClients: options.maxClients ?? 200, maxPerPeer: options.maxPerPeer ?? 16 }));
  const slowBytes = options.slowBytes ?? SLOW_BYTES;
  const encoder = new TextEncoder();
  const clients = new Set<Client>();
  const byPeer = new Map<string, Set<Client>>();
  const warnings = new WarnLimiter(10_000, clock);
  let closed = false;
  let pending: NodeJS.Timeout | null = null;
  let lastSent = 0;

  const forget = (client: Client) => {
    clients.delete(client);
    const own = byPeer.get(client.peer);
    own?.delete(client);
    if (own?.size === 0) byPeer.delete(client.peer);
  };

  /** Ends a stream and destroys its socket: a client that does not read would otherwise keep it (and its fd) forever. */
  const drop = (client: Client, why: string) => {
    forget(client);
    const held = warnings.take(`${why} ${client.peer}`);
    if (held !== null) logger.warn({ remote: client.peer, suppressed: held }, `dashboard event stream ${why}; closing it`);
    try {
      client.controller.close();
    } catch {
      // already closed
    }
    client.socket?.destroy();
  };

  const send = (client: Client, bytes: Uint8Array) => {
    try {
      if ((client.controller.desiredSize ?? 0) < 0) return drop(client, 'client too slow');
      client.controller.enqueue(bytes);
    } catch {
      forget(client); // stream already closed or cancelled
    }
  };

  /** Makes room for one more stream from `peer`: per-peer cap first, then the total cap. */
  const makeRoom = (peer: string) => {
    const { maxClients, maxPerPeer } = caps();
    const own = byPeer.get(peer);
    if (own && own.size >= maxPerPeer) {
      const victim = victimAmong(own, slowBytes);
      if (victim) drop(victim, 'gives way to a newer one from the same address (per-address stream cap)');
    }
    while (clients.size >= maxClients) {
      let busiest: Set<Client> | undefined;
      for (const streams of byPeer.values()) if (!busiest || streams.size > busiest.size) busiest = streams;
      const slow = [...clients].find((client) => isBehind(client, slowBytes));
      const victim = slow ?? (busiest ? victimAmong(busiest, slowBytes) : undefined);
      if (!victim) return;
      drop(victim, 'gives way to a newer one (stream cap)');
    }
  };

  const snapshotEvent = () => encoder.encode(formatEvent('snapshot', snapshotPayload(source.snapshot(), clock())));

  const broadcast = () => {
    pending = null;
    if (closed || clients.size === 0) return;
    lastSent = clock();
    const bytes = snapshotEvent(); // serialised once for every client
    for (const client of clients) send(client, bytes);
  };

  const unsubscribe = source.onChange(() => {
    if (closed || clients.size === 0 || pending) return;
    pending = setTimeout(broadcast, Math.max(0, lastSent + minIntervalMs - clock()));
  });

  const heartbeat = setInterval(() => {
    if (clients.size === 0) return;
    // Ages move without a new snapshot version (observations refresh in place), so the heartbeat carries them.
    const snapshot = source.snapshot();
    const now = clock();
    const ages = snapshot.nodes.map((node) => verdictAgeMs(node, now));
    const bytes = encoder.encode(formatEvent('heartbeat', { version: snapshot.version, generated_at: new Date(now).toISOString(), age_ms: ages }));
    for (const client of clients) send(client, bytes);
  }, heartbeatMs);
  heartbeat.unref();

  app.get('/api/v1/events', (c) => {
    if (closed) return c.json({ error: 'shutting down' }, 503);
    // On @hono/node-server the Node request is in env.incoming (absent with app.request() in tests).
    const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket ?? null;
    const peer = peerAddress(socket?.remoteAddress);
    // A newcomer always gets its stream: a flood of never-reading clients must not lock the dashboard out.
    makeRoom(peer);
    let client: Client | null = null;
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          client = { controller, peer, socket };
          clients.add(client);
          let own = byPeer.get(peer);
          if (!own) byPeer.set(peer, (own = new Set()));
          own.add(client);
          controller.enqueue(encoder.encode('retry: 2000\n\n'));
          controller.enqueue(snapshotEvent());
        },
        cancel() {
          if (client) forget(client);
        },
      },
      { highWaterMark: slowBytes, size: (chunk) => chunk.byteLength },
    );
    return new Response(stream, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no', // tells an NGINX in front not to buffer the stream
      },
    });
  });

  return {
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      if (pending) clearTimeout(pending);
      for (const client of clients) {
        try {
          client.controller.close();
        } catch {
          // already closed
        }
      }
      clients.clear();
      byPeer.clear();
    },
  };
}
