// Test fixtures for the Envoy front-ends: verdicts, snapshots and a front-end context without a running service.

import { Hono } from 'hono';
import { ConfigSchema } from '../../../src/config/schema.js';
import { Snapshot } from '../../../src/core/snapshot.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import type { Config } from '../../../src/config/schema.js';
import type { NodeVerdict, SnapshotSource } from '../../../src/core/snapshot.js';
import type { NodeState } from '../../../src/core/verdict.js';
import type { FrontendContext } from '../../../src/frontends/frontend.js';
import type { StateCore } from '../../../src/core/state.js';

let nextAddress = 11;

/** A verdict with sensible defaults; override what the test is about. */
export function verdict(name: string, state: NodeState, extra: Partial<NodeVerdict> = {}): NodeVerdict {
  return {
    name,
    address: `10.0.1.${nextAddress++}`,
    port: 443,
    statusUrl: `https://${name}/api/client/v2/status`,
    source: 'static',
    state,
    weight: 100,
    load: null,
    maintenance: state === 'draining',
    degraded: false,
    reason: `${state} because the test says so`,
    override: null,
    calls: null,
    drainedSince: null,
    heldByGuard: false,
    probe: null,
    since: 0,
    observedAt: 0,
    version: 1,
    ...extra,
  };
}

export function snapshotOf(nodes: NodeVerdict[], version = 1): Snapshot {
  return new Snapshot(version, 0, nodes, new Map(nodes.map((node, index) => [node.name, index])), { active: false, downCount: 0, total: nodes.length, since: null });
}

/** A mutable snapshot source: `set()` publishes a new snapshot. */
export class FakeSource implements SnapshotSource {
  private listeners = new Set<(snapshot: Snapshot) => void>();
  constructor(private current: Snapshot) {}
  snapshot(): Snapshot {
    return this.current;
  }
  published(): Snapshot {
    return this.current;
  }
  onChange(listener: (snapshot: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(nodes: NodeVerdict[]): void {
    this.current = snapshotOf(nodes, this.current.version + 1);
    for (const listener of this.listeners) listener(this.current);
  }
}

export type TestContext = FrontendContext & { source: FakeSource; app: Hono; setConfig(patch: Record<string, unknown>): void };

/** A front-end context over a fake source, default config (optionally patched) and fresh metrics. */
export function testContext(nodes: NodeVerdict[], configPatch: Record<string, unknown> = {}): TestContext {
  let config: Config = ConfigSchema.parse(configPatch);
  const source = new FakeSource(snapshotOf(nodes));
  return {
    source,
    core: undefined as unknown as StateCore,
    config: () => config,
    secrets: () => ({}) as never,
    logger: silentLogger,
    metrics: new Metrics({ processMetrics: false }),
    app: new Hono(),
    clock: Date.now,
    setConfig(patch) {
      config = ConfigSchema.parse(patch);
    },
  };
}

/** The value of one labelled counter series. */
export async function counterValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const series = data.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label));
  return series?.value ?? 0;
}
