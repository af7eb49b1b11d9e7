// Drain-lifecycle warnings: nodes entering maintenance too close together, and too little ready capacity left.

import type { NodeVerdict, Snapshot } from './snapshot.js';

export type MaintenanceWarningKind = 'spacing' | 'capacity';

/** Longest time between two full walks of the fleet (capacities change without a verdict changing). */
const FULL_WALK_MS = 1000;

export type MaintenanceWarning = {
  kind: MaintenanceWarningKind;
  message: string;
  fields: Record<string, unknown>;
};

export type MaintenanceWarningsOptions = {
  /** policy.maintenance_spacing and policy.min_ready_capacity, read on every snapshot (reloads apply). */
  policy: () => { maintenance_spacing: number; min_ready_capacity: number };
  /** Capacity of a node (e.g. max_media_tokens), or null when unknown. */
  capacityOf?: (name: string) => number | null;
  onWarning(warning: MaintenanceWarning): void;
  /** Called when ready capacity is back above the threshold. */
  onRecovered?(fields: Record<string, unknown>): void;
};

/**
 * Watches snapshots for Pexip's "one node at a time, a couple of minutes apart" rule.
 *
 * - spacing: a node enters maintenance (its `maintenance` flag turns on, from the node's 503 or the
 *   Management Node) less than `maintenance_spacing` after another node did. Nodes already in
 *   maintenance when drainwatch first sees them do not count as entering, nor does a node that was
 *   down or unknown in between (a node rebooting during an upgrade comes back in maintenance).
 * - capacity: the nodes still `ready` hold less than `min_ready_capacity` of the fleet's capacity
 *   (each node's max_media_tokens when every node's is known, else one unit per node). Fired once per
 *   crossing below the threshold, not on every snapshot.
 *
 * @example
 * const warnings = new MaintenanceWarnings({ policy: () => config.policy, onWarning: (w) => logger.warn(w.fields, w.message) });
 * core.onChange((snapshot, changed) => warnings.observe(snapshot, changed));
 */
export class MaintenanceWarnings {
  private readonly maintenance = new Map<string, boolean>();
  private lastEntry: { name: string; at: number } | null = null;
  private belowCapacity = false;
  /** Every node has had a first observation: before that, a restart with a saved override looks like lost capacity. */
  private complete = false;
  /** Each counted node's share of the capacity sums, so a snapshot costs O(changed nodes). */
  private readonly shares = new Map<string, { ready: boolean; capacity: number | null }>();
  private totals = { nodes: 0, readyNodes: 0, known: 0, capacity: 0, readyCapacity: 0 };
  /** When the last full walk ran: capacities can change without a verdict changing, so re-walk now and then. */
  private fullAt = -Infinity;
  private fullLength = -1;

  constructor(private readonly options: MaintenanceWarningsOptions) {}

  /**
   * Checks one snapshot. With `changed` (the verdicts that changed in it, from the state core) only
   * those nodes are looked at; without it, or after an inventory change, or once per
   * FULL_WALK_MS, every node is.
   */
  observe(snapshot: Snapshot, changed?: readonly NodeVerdict[]): void {
    const now = snapshot.at;
    const policy = this.options.policy();
    const full = changed === undefined || snapshot.nodes.length !== this.fullLength || now - this.fullAt >= FULL_WALK_MS;
    if (full) {
      this.fullAt = now;
      this.fullLength = snapshot.nodes.length;
      this.shares.clear();
      this.totals = { nodes: 0, readyNodes: 0, known: 0, capacity: 0, readyCapacity: 0 };
      const present = new Set<string>();
      for (const node of snapshot.nodes) {
        present.add(node.name);
        this.spacing(node, now, policy.maintenance_spacing);
        this.share(node);
      }
      for (const name of this.maintenance.keys()) if (!present.has(name)) this.maintenance.delete(name);
    } else {
      for (const node of changed) {
        this.spacing(node, now, policy.maintenance_spacing);
        this.share(node);
      }
    }
    // O(nodes) only until the first complete snapshot; after it, the check runs on every one.
    if (!this.complete) this.complete = snapshot.nodes.length > 0 && snapshot.nodes.every((node) => node.probe !== null || node.observedAt !== null);
    if (this.complete) this.checkCapacity(policy.min_ready_capacity);
  }

  private spacing(node: NodeVerdict, now: number, spacingMs: number): void {
    // A down or stale node's maintenance flag says nothing (a rebooting node is not "leaving" maintenance).
    const observed = (node.probe !== null || node.observedAt !== null) && node.state !== 'down' && node.state !== 'unknown';
    if (!observed) return;
    const before = this.maintenance.get(node.name);
    this.maintenance.set(node.name, node.maintenance);
    if (before !== false || !node.maintenance) return;
    // This node just entered maintenance.
    const previous = this.lastEntry;
    this.lastEntry = { name: node.name, at: now };
    if (previous && previous.name !== node.name) {
      const gapMs = now - previous.at;
      if (gapMs < spacingMs) {
        this.options.onWarning({
          kind: 'spacing',
          message: `${node.name} entered maintenance ${(gapMs / 1000).toFixed(1)}s after ${previous.name}; Pexip advises one node at a time, at least policy.maintenance_spacing (${(spacingMs / 1000).toFixed(0)}s) apart, so registrations and replicated data can move`,
          fields: { node: node.name, previous: previous.name, gap_ms: gapMs, spacing_ms: spacingMs },
        });
      }
    }
  }

  /** Replaces one node's share of the capacity sums with its current one. */
  private share(node: NodeVerdict): void {
    const totals = this.totals;
    const old = this.shares.get(node.name);
    if (old) {
      totals.nodes -= 1;
      if (old.ready) totals.readyNodes -= 1;
      if (old.capacity !== null) {
        totals.known -= 1;
        totals.capacity -= old.capacity;
        if (old.ready) totals.readyCapacity -= old.capacity;
      }
      this.shares.delete(node.name);
    }
    // Nodes never heard from do not count (start-up is not a loss of capacity).
    if (node.state === 'unknown' && node.probe === null) return;
    const value = this.options.capacityOf?.(node.name) ?? null;
    const capacity = value !== null && value > 0 ? value : null;
    const ready = node.state === 'ready';
    this.shares.set(node.name, { ready, capacity });
    totals.nodes += 1;
    if (ready) totals.readyNodes += 1;
    if (capacity !== null) {
      totals.known += 1;
      totals.capacity += capacity;
      if (ready) totals.readyCapacity += capacity;
    }
  }

  private checkCapacity(threshold: number): void {
    const { nodes, readyNodes, known, capacity, readyCapacity } = this.totals;
    if (nodes === 0 || threshold <= 0) return;
    // Capacities count only when every counted node's is known; otherwise one unit per node.
    const useKnown = known === nodes;
    const fraction = useKnown ? readyCapacity / capacity : readyNodes / nodes;
    const below = fraction < threshold;
    if (below && !this.belowCapacity) {
      this.options.onWarning({
        kind: 'capacity',
        message: `only ${(fraction * 100).toFixed(0)}% of the fleet's capacity is on ready nodes (${readyNodes} of ${nodes}), below policy.min_ready_capacity ${(threshold * 100).toFixed(0)}%`,
        fields: { ready_fraction: Number(fraction.toFixed(3)), min_ready_capacity: threshold, ready_nodes: readyNodes, nodes, unit: useKnown ? 'max_media_tokens' : 'nodes' },
      });
    } else if (!below && this.belowCapacity) {
      this.options.onRecovered?.({ ready_fraction: Number(fraction.toFixed(3)), min_ready_capacity: threshold });
    }
    this.belowCapacity = below;
  }
}
