// Real HAProxy 2.6 (haproxy/haproxy.cfg, push-mode default-server) driven over its runtime API.

import { describe, expect, it } from 'vitest';
import { PROBE_INTERVAL_MS, deriveConfig, startHaproxy } from './harness.js';
import { startRig } from './setup.js';
import { requires } from '../../helpers/requires.js';
import { haproxyServerLines } from '../../../src/cli/commands/print-haproxy.js';
import type { RuntimePusher } from '../../../src/frontends/haproxy/runtime-pusher.js';

const PUSH_BOUND_MS = PROBE_INTERVAL_MS + 1000;

const SUITE = 'HAProxy push mode (runtime API)';

describe.runIf(requires(SUITE, ['haproxy']))(SUITE, () => {
  it('pushes weights, drains within probe interval + 1 s, returns to READY, and re-asserts after HAProxy restarts', async () => {
    const rig = await startRig({ push: true });
    const stats = await rig.haproxy.stat('pexip');
    // The push-mode backend has no agent check at all.
    expect(stats.get('px01')?.agent_status).toBe('');
    rig.setLoad('px01', 20);
    await rig.waitServer('px01', (stat, state) => stat.status === 'UP' && state.srv_uweight === '80', 10_000, 'weight 80');

    await rig.sim.setPhase('px03', 'maintenance', 'Upgrade');
    const drainMs = await rig.waitServer('px03', (stat) => stat.status === 'DRAIN', PUSH_BOUND_MS + 2000, 'DRAIN');
    console.info(`push mode: maintenance -> HAProxy DRAIN in ${drainMs} ms (bound ${PUSH_BOUND_MS} ms)`);
    expect(drainMs).toBeLessThanOrEqual(PUSH_BOUND_MS);

    await rig.sim.setPhase('px03', 'up');
    await rig.waitServer('px03', (stat) => stat.status === 'UP', 2 * PROBE_INTERVAL_MS + 2000, 'READY again');

    // HAProxy restarts (its state resets to the config file): drainwatch notices and re-asserts.
    await rig.sim.setPhase('px02', 'maintenance', 'Upgrade');
    await rig.waitServer('px02', (stat) => stat.status === 'DRAIN', PUSH_BOUND_MS + 2000, 'DRAIN before restart');
    await rig.haproxy.stop();
    const lines = haproxyServerLines(rig.dw.service.config, { mode: 'push', cookie: false });
    const derived = deriveConfig('haproxy.cfg', { dir: rig.dir, frontendPort: rig.frontendPort, serverLines: lines, push: true });
    const again = await startHaproxy(rig.dir, derived.text, derived.socket, 'haproxy-again.cfg');
    const restartedAt = Date.now();
    await waitForServer(again, 'px02', (stat) => stat.status === 'DRAIN', 4000);
    await waitForServer(again, 'px01', (stat) => stat.weight === '80', 1000);
    console.info(`push mode: HAProxy restarted -> state re-asserted in ${Date.now() - restartedAt} ms`);

    const pushers = (rig.dw.service.frontend('haproxy-runtime') as unknown as { pushers(): readonly RuntimePusher[] }).pushers();
    expect(pushers[0]?.healthy).toBe(true);
    const metrics = await rig.dw.service.metrics.registry.getSingleMetricAsString('drainwatch_haproxy_runtime_api_commands_total');
    expect(metrics).toMatch(/result="ok"} [1-9]/);
    expect(metrics).toMatch(/result="failed"} [1-9]/);
  });
});

async function waitForServer(haproxy: Awaited<ReturnType<typeof startHaproxy>>, name: string, check: (stat: Record<string, string>) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, string> | undefined;
  while (Date.now() < deadline) {
    last = (await haproxy.stat('pexip')).get(name);
    if (last && check(last)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} did not reach the expected state: ${last?.status} weight ${last?.weight}`);
}
