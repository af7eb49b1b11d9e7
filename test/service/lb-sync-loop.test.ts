// The sync loop: one log line per target status change (never per poll), at warn for diverged/unreachable, and a tick that lets time act.

import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { LoadBalancerSync } from '../../src/core/lb-sync.js';
import { Metrics } from '../../src/operator/metrics/registry.js';
import { SYNC_TICK_MS, startSyncLoop } from '../../src/service/lb-sync-loop.js';
import type { Logger } from '../../src/core/logger.js';

function capture(): { logger: Logger; lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const logger: Logger = {
    debug: (_fields, message = '') => lines.push({ level: 'debug', message }),
    info: (_fields, message = '') => lines.push({ level: 'info', message }),
    warn: (_fields, message = '') => lines.push({ level: 'warn', message }),
    error: (_fields, message = '') => lines.push({ level: 'error', message }),
    child: () => logger,
  };
  return { logger, lines };
}

describe('startSyncLoop', () => {
  it('logs each target status change once and ticks the model every second', async () => {
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const sync = new LoadBalancerSync();
    const { logger, lines } = capture();
    const loop = startSyncLoop(sync, { logger, metrics: new Metrics({ processMetrics: false }) });
    onTestFinished(() => loop.stop());
    sync.register({ id: 'nginx:pexip', kind: 'nginx', target: '/f', budgetMs: 500 });
    for (let i = 0; i < 3; i += 1) sync.report('nginx:pexip', { nodes: [{ name: 'px01', want: 'down', have: 'down' }] });
    sync.report('nginx:pexip', { nodes: [{ name: 'px01', want: 'weight=100', have: 'down' }] });
    await vi.advanceTimersByTimeAsync(SYNC_TICK_MS);
    sync.unregister('nginx:pexip');
    expect(lines).toEqual([
      { level: 'debug', message: 'load balancer nginx:pexip followed' },
      { level: 'info', message: 'load balancer nginx:pexip is in sync: 1 node in sync' },
      { level: 'info', message: 'load balancer nginx:pexip is converging: px01: expected weight=100, has down (within 500ms)' },
      { level: 'warn', message: 'load balancer nginx:pexip is diverged: px01: expected weight=100, has down for 500ms or more' },
      { level: 'info', message: 'load balancer nginx:pexip no longer followed' },
    ]);
  });
});
