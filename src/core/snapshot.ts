// The versioned snapshot front-ends read: one immutable verdict list plus a shared name index.

import type { NodeState, Override, ProbeReason, NodeSpec } from './verdict.js';

/** One node's published verdict. */
export type NodeVerdict = {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly statusUrl: string;
  readonly source: NodeSpec['source'];
  readonly state: NodeState;
  /** 1..100; meaningful when ready (front-ends also use it for fail-open renderings). */
  readonly weight: number;
  readonly load: number | null;
  readonly maintenance: boolean;
  readonly degraded: boolean;
  readonly reason: string;
  readonly override: Override | null;
  /** Calls still on the node (from the Management Node), null when unknown. */
  readonly calls: number | null;
  /** When a draining node's calls reached zero (epoch ms), else null. */
  readonly drainedSince: number | null;
  /** True while the blast-radius guard holds this verdict instead of a new `down`. */
  readonly heldByGuard: boolean;
  /** Last probe: reason, HTTP status and latency. */
  readonly probe: { reason: ProbeReason; status: number | null; latencyMs: number; at: number } | null;
  /** When the state last changed (epoch ms). */
  readonly since: number;
  /** Time of the newest observation behind this verdict (epoch ms); a fresher one comes in a copy at the same version. */
  readonly observedAt: number | null;
  /** Snapshot version at which this verdict last changed. */
  readonly version: number;
};

export type GuardStatus = { active: boolean; downCount: number; total: number; since: number | null };

/** Age of a verdict in ms: time since its newest observation (or since it was published). */
export function verdictAgeMs(verdict: NodeVerdict, now: number): number {
  return Math.max(0, now - (verdict.observedAt ?? verdict.since));
}

/**
 * An immutable view of every verdict at one version (the state core freezes the verdicts and the
 * list; newer observation times arrive as a new Snapshot object with the same version).
 *
 * @example
 * const snap = source.snapshot();
 * snap.get('px01')?.state // 'ready'
 */
export class Snapshot {
  constructor(
    readonly version: number,
    readonly at: number,
    readonly nodes: readonly NodeVerdict[],
    private readonly index: ReadonlyMap<string, number>,
    readonly guard: GuardStatus,
  ) {}

  /** The verdict of one node, or undefined for a name not in the inventory. */
  get(name: string): NodeVerdict | undefined {
    const position = this.index.get(name);
    return position === undefined ? undefined : this.nodes[position];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  names(): string[] {
    return this.nodes.map((node) => node.name);
  }

  /** True once every node has had a first verdict (for /readyz). */
  get complete(): boolean {
    return this.nodes.every((node) => node.probe !== null || node.override !== null);
  }
}

/** What front-ends depend on: the current snapshot and change notifications. */
export type SnapshotSource = {
  /** The current snapshot, observation times included (what an operator reads: API, dashboard, metrics). */
  snapshot(): Snapshot;
  /**
   * The newest published version without refreshing observation times: every visible field
   * (state, weight, reason, override, ...) is current, `observedAt` and `probe` may be behind.
   * Costs nothing, where `snapshot()` may copy each verdict probed since the last read: the load
   * balancer front-ends, which use only the visible fields, read this.
   */
  published(): Snapshot;
  /** Calls `listener` after each new version (with the verdicts that changed, when the source knows them); returns an unsubscribe function. */
  onChange(listener: (snapshot: Snapshot, changed?: readonly NodeVerdict[]) => void): () => void;
};
