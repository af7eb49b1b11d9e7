// Process and build metrics: prom-client's defaults minus the gauges it names `_total`, plus drainwatch_build_info.

import { Gauge, collectDefaultMetrics } from 'prom-client';
import { packageVersion } from '../../config/version.js';
import type { Registry } from 'prom-client';

const PREFIX = 'drainwatch_';

// prom-client exports these totals as gauges with a `_total` suffix, which `promtool check metrics`
// rejects (the suffix promises a counter). The same counts stay available, by type, in
// drainwatch_nodejs_active_handles, _requests and _resources.
const MISNAMED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Registers the default process/Node.js metrics under the drainwatch_ prefix, without the
 * gauges named like counters.
 *
 * @example registerProcessMetrics(metrics.registry);
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  for (const name of MISNAMED) registry.removeSingleMetric(`${PREFIX}${name}`);
}

/**
 * Registers `drainwatch_build_info{version,node_version} 1`, the same version `drainwatch --version` prints.
 *
 * @example registerBuildInfo(metrics.registry);
 */
export function registerBuildInfo(registry: Registry): void {
  const info = new Gauge({
    name: `${PREFIX}build_info`,
    help: 'Always 1; the labels say which drainwatch version runs on which Node.js.',
    labelNames: ['version', 'node_version'] as const,
    registers: [registry],
  });
  info.set({ version: packageVersion(), node_version: process.version }, 1);
}
