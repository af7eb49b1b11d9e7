// GET /api/v1/events: the dashboard's server-sent stream of snapshots (coalesced) and age heartbeats.

import { nodeToJson } from '../api/node-json.js';
import { verdictAgeMs } from '../../core/snapshot.js';
import type { Hono } from 'hono';
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
  /** Most concurrent streams (default 200); more answer 503. */
  maxClients?: number;
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

type Client = { controller: ReadableStreamDefaultController<Uint8Array> };

// A client this far behind (bytes queued) is too slow; it is dropped and its browser reconnects.
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

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
  const maxClients = options.maxClients ?? 200;
  const encoder = new TextEncoder();
  const clients = new Set<Client>();
  let closed = false;
  let pending: NodeJS.Timeout | null = null;
  let lastSent = 0;

  const send = (client: Client, bytes: Uint8Array) => {
    try {
      if ((client.controller.desiredSize ?? 0) < 0) {
        logger.warn({}, 'dashboard event stream client too slow; dropping it');
        clients.delete(client);
        client.controller.close();
        return;
      }
      client.controller.enqueue(bytes);
    } catch {
      clients.delete(client); // stream already closed or cancelled
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
    if (clients.size >= maxClients) return c.json({ error: `too many dashboard event streams open (at most ${maxClients})` }, 503);
    let client: Client | null = null;
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          client = { controller };
          clients.add(client);
          controller.enqueue(encoder.encode('retry: 2000\n\n'));
          controller.enqueue(snapshotEvent());
        },
        cancel() {
          if (client) clients.delete(client);
        },
      },
      { highWaterMark: MAX_QUEUED_BYTES, size: (chunk) => chunk.byteLength },
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
    },
  };
}
