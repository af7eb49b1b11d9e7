// The load-balancer sync model's service side: one log line per target status change, the metrics, and the 1 s tick.

import { registerLoadBalancerMetrics } from '../operator/metrics/loadbalancers.js';
import type { LoadBalancerSync, SyncEvent } from '../core/lb-sync.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../operator/metrics/registry.js';

/** How often time-based sync rules (budgets, silent targets) are applied between reports. */
export const SYNC_TICK_MS = 1000;

/**
 * Logs each target status change (never each poll), registers the drainwatch_loadbalancer_*
 * metrics, and ticks the model every second. Returns `stop()` (idempotent).
 *
 * @example const loop = startSyncLoop(sync, { logger, metrics }); ...; loop.stop();
 */
export function startSyncLoop(sync: LoadBalancerSync, options: { logger: Logger; metrics: Metrics }): { stop(): void } {
  const logger = options.logger.child({ component: 'lb-sync' });
  registerLoadBalancerMetrics(options.metrics.registry, sync);
  const unsubscribe = sync.onStatusChange((event) => logStatusChange(logger, event));
  const timer = setInterval(() => sync.tick(), SYNC_TICK_MS);
  timer.unref?.();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      unsubscribe();
    },
  };
}

function logStatusChange(logger: Logger, event: SyncEvent): void {
  const { target, previous, removed } = event;
  const fields = { target: target.id, kind: target.kind, from: previous, to: removed ? null : target.status, reason: target.reason };
  if (removed) return logger.info(fields, `load balancer ${target.id} no longer followed`);
  if (previous === null) return logger.debug(fields, `load balancer ${target.id} followed`);
  const message = `load balancer ${target.id} is ${target.status.replace('_', ' ')}${target.reason ? `: ${target.reason}` : ''}`;
  if (target.status === 'diverged' || target.status === 'unreachable') logger.warn(fields, message);
  else logger.info(fields, message);
}
