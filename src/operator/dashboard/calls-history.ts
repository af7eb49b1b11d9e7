// The calls on each draining node over the last 30 minutes, kept in memory for the dashboard's small lines.

import type { Hono } from 'hono';
import type { Snapshot, SnapshotSource } from '../../core/snapshot.js';

export type CallsHistoryOptions = {
  /** How far back a line reaches (default 30 min). */
  windowMs?: number;
  /** Most points kept per node (default 240): a flapping count cannot grow memory. */
  maxPoints?: number;
};

/** One change of a node's call count: [unix ms, calls]. */
export type CallsPoint = readonly [number, number];

const DRAINING_STATES = new Set(['draining', 'maint']);

/**
 * Records, per node that is draining (or in maint) with a known call count, each change of its
 * calls. Points older than the window go, except the last one before it (the line's start
 * value); nodes that leave draining or the inventory are forgotten. Bounded by nodes × maxPoints.
 *
 * @example
 * const history = new CallsHistory();
 * history.record(core.snapshot(), Date.now());
 * history.lines(Date.now()) // { px02: [[1764650000000, 14], [1764650060000, 9]] }
 */
export class CallsHistory {
  /** How far back a line reaches, in ms. */
  readonly windowMs: number;
  private readonly maxPoints: number;
  private readonly points = new Map<string, CallsPoint[]>();

  constructor(options: CallsHistoryOptions = {}) {
    this.windowMs = options.windowMs ?? 30 * 60_000;
    this.maxPoints = Math.max(2, options.maxPoints ?? 240);
  }

  /** Takes in one snapshot: a point for each draining node whose calls changed. */
  record(snapshot: Snapshot, now: number): void {
    const present = new Set<string>();
    for (const node of snapshot.nodes) {
      if (!DRAINING_STATES.has(node.state) || node.calls === null) continue;
      present.add(node.name);
      let line = this.points.get(node.name);
      if (!line) {
        line = [];
        this.points.set(node.name, line);
      }
      if (line.at(-1)?.[1] !== node.calls) line.push([now, node.calls]);
      this.trim(line, now);
    }
    for (const name of this.points.keys()) if (!present.has(name)) this.points.delete(name);
  }

  /** Every line, trimmed to the window at `now` (the caller draws each as steps up to now). */
  lines(now: number): Record<string, CallsPoint[]> {
    const out: Record<string, CallsPoint[]> = {};
    for (const [name, line] of this.points) {
      this.trim(line, now);
      out[name] = line.slice();
    }
    return out;
  }

  private trim(line: CallsPoint[], now: number): void {
    // Keep the newest point older than the window: it is the line's value at the window's start.
    const start = now - this.windowMs;
    let drop = 0;
    while (drop + 1 < line.length && (line[drop + 1]?.[0] ?? Infinity) <= start) drop += 1;
    if (drop > 0) line.splice(0, drop);
    if (line.length > this.maxPoints) line.splice(0, line.length - this.maxPoints);
  }
}

export type CallsRouteOptions = { app: Hono; source: SnapshotSource; clock: () => number; history?: CallsHistory };

/**
 * Feeds a CallsHistory from the snapshot source and serves it as
 * `GET /api/v1/dashboard/calls` → `{"window_ms", "now", "nodes": {"px02": [[unix_ms, calls], ...]}}`.
 *
 * @example const calls = registerCallsHistory({ app, source, clock }); // calls.close() on shutdown
 */
export function registerCallsHistory(options: CallsRouteOptions): { close(): void } {
  const { app, source, clock } = options;
  const history = options.history ?? new CallsHistory();
  // Nothing read at registration: the first change or request brings the first snapshot.
  const unsubscribe = source.onChange((snapshot) => history.record(snapshot, clock()));
  app.get('/api/v1/dashboard/calls', (c) => {
    const now = clock();
    history.record(source.published(), now); // calls and states only: no fresh observation times needed
    return c.json({ window_ms: history.windowMs, now, nodes: history.lines(now) }, 200, { 'cache-control': 'no-store' });
  });
  return { close: unsubscribe };
}
