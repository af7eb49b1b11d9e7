// Drain-lifecycle warnings: nodes entering maintenance too close together, and too little ready capacity left.

import type { Snapshot } from './snapshot.js';

export type MaintenanceWarningKind = 'spacing' | 'capacity';

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
 * core.onChange((snapshot) => warnings.observe(snapshot));
 */
export class MaintenanceWarnings {
  private readonly maintenance = new Map<string, boolean>();
  private lastEntry: { name: string; at: number } | null = null;
  private belowCapacity = false;

  constructor(private readonly options: MaintenanceWarningsOptions) {}

  observe(snapshot: Snapshot): void {
    const now = snapshot.at;
    const policy = this.options.policy();
    const present = new Set<string>();
    for (const node of snapshot.nodes) {
      present.add(node.name);
      // A down or stale node's maintenance flag says nothing (a rebooting node is not "leaving" maintenance).
      const observed = (node.probe !== null || node.observedAt !== null) && node.state !== 'down' && node.state !== 'unknown';
      if (!observed) continue;
      const before = this.maintenance.get(node.name);
      this.maintenance.set(node.name, node.maintenance);
      if (before !== false || !node.maintenance) continue;
      // This node just entered maintenance.
      const previous = this.lastEntry;
      this.lastEntry = { name: node.name, at: now };
      if (previous && previous.name !== node.name) {
        const gapMs = now - previous.at;
        if (gapMs < policy.maintenance_spacing) {
          this.options.onWarning({
            kind: 'spacing',
            message: `${node.name} entered maintenance ${(gapMs / 1000).toFixed(1)}s after ${previous.name}; Pexip advises one node at a time, at least policy.maintenance_spacing (${(policy.maintenance_spacing / 1000).toFixed(0)}s) apart, so registrations and replicated data can move`,
            fields: { node: node.name, previous: previous.name, gap_ms: gapMs, spacing_ms: policy.maintenance_spacing },
          });
        }
      }
    }
    for (const name of this.maintenance.keys()) if (!present.has(name)) this.maintenance.delete(name);
    this.checkCapacity(snapshot, policy.min_ready_capacity);
  }

  private checkCapacity(snapshot: Snapshot, threshold: number): void {
    const nodes = snapshot.nodes.filter((node) => node.state !== 'unknown' || node.probe !== null);
    if (nodes.length === 0 || threshold <= 0) return;
    const known = nodes.map((node) => this.options.capacityOf?.(node.name) ?? null);
    const useKnown = known.every((value) => value !== null && value > 0);
    let total = 0;
    let ready = 0;
    nodes.forEach((node, index) => {
      const capacity = useKnown ? (known[index] as number) : 1;
      total += capacity;
      if (node.state === 'ready') ready += capacity;
    });
    const fraction = ready / total;
    const below = fraction < threshold;
    if (below && !this.belowCapacity) {
      const readyCount = nodes.filter((node) => node.state === 'ready').length;
      this.options.onWarning({
        kind: 'capacity',
        message: `only ${(fraction * 100).toFixed(0)}% of the fleet's capacity is on ready nodes (${readyCount} of ${nodes.length}), below policy.min_ready_capacity ${(threshold * 100).toFixed(0)}%`,
        fields: { ready_fraction: Number(fraction.toFixed(3)), min_ready_capacity: threshold, ready_nodes: readyCount, nodes: nodes.length, unit: useKnown ? 'max_media_tokens' : 'nodes' },
      });
    } else if (!below && this.belowCapacity) {
      this.options.onRecovered?.({ ready_fraction: Number(fraction.toFixed(3)), min_ready_capacity: threshold });
    }
    this.belowCapacity = below;
  }
}
