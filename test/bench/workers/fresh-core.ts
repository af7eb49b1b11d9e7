// A StateCore whose nodes stay `ready` without a prober: a probe result is recorded for each node every second.

import { StateCore } from '../../../src/core/state.js';
import type { SnapshotSource } from '../../../src/core/snapshot.js';
import type { NodeSpec } from '../../../src/core/verdict.js';

export type FreshCore = { source: SnapshotSource; core: StateCore; close(): void };

/**
 * Builds a state core for front-end benchmarks: verdicts are what a healthy fleet produces, and
 * they stay fresh (max_age would turn them `unknown`) at the cost of one recorded result per node per second,
 * far less than the prober's real work, which is measured in its own scenario.
 */
export function freshCore(nodes: Array<Pick<NodeSpec, 'name' | 'address' | 'port'>>): FreshCore {
  const specs: NodeSpec[] = nodes.map((node) => ({ ...node, statusUrl: `http://${node.address}:${node.port}/api/client/v2/status`, source: 'static' }));
  const core = new StateCore({
    nodes: specs,
    rise: 2,
    fall: 2,
    maxAgeMs: 5000,
    policy: { min_weight: 1, weight_step: 5, degraded_load: 90, guard_down_fraction: 0.5, guard_min_nodes: 3 },
  });
  core.start();
  const refresh = () => {
    const at = Date.now();
    for (const spec of specs) core.recordProbe(spec.name, { outcome: 'available', reason: 'ok', detail: '', status: 200, latencyMs: 1, at });
    core.flush();
  };
  refresh();
  const timer = setInterval(refresh, 1000);
  return {
    source: core,
    core,
    close() {
      clearInterval(timer);
      core.close();
    },
  };
}
