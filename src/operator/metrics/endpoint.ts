// GET /metrics: the Prometheus text exposition of the shared `Metrics` registry (per-node gauges read the snapshot).

import type { Frontend, FrontendContext } from '../../frontends/frontend.js';

/**
 * Registers `GET /metrics` on the shared app. A scrape only reads the current
 * snapshot and counters; it never triggers a probe.
 *
 * @example
 * const frontend = createMetricsEndpoint(context);
 * // curl -s 127.0.0.1:9555/metrics | grep drainwatch_node_state
 */
export function createMetricsEndpoint(context: FrontendContext): Frontend {
  const { app, metrics, logger } = context;

  app.get('/metrics', async (c) => {
    try {
      const text = await metrics.registry.metrics();
      return c.body(text, 200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    } catch (error) {
      // A collector threw (should not happen); answer plainly so Prometheus marks the scrape failed.
      logger.error({ err: error }, 'metrics collection failed');
      return c.text(`metrics collection failed: ${(error as Error).message}\n`, 500);
    }
  });

  return { name: 'metrics-endpoint', close: async () => undefined, destroy: async () => undefined };
}
