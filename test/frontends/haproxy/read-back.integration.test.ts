// Real HAProxy 2.6 read back: agent mode with observe reports hand-made changes; push mode repairs them at once.

import { describe, expect, it, onTestFinished } from 'vitest';
import { Simulator, testTlsPath } from '../../../src/simulator/index.js';
import { haproxyServerLines } from '../../../src/cli/commands/print-haproxy.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import { requires } from '../../helpers/requires.js';
import { PROBE_INTERVAL_MS, deriveConfig, freePort, startHaproxy, tempDir } from './harness.js';
import type { HaproxyAgentFrontend } from '../../../src/frontends/haproxy/agent-server.js';
import type { LoadBalancerJson } from '../../../src/operator/api/loadbalancers.js';

const SUITE = 'HAProxy read-back (show servers state)';
const READ_MS = 250;
// px01's own agent-inter: after its first check, a hand-made change stays in HAProxy for a minute
// before the agent restates the verdict, so the test reads it deterministically.
const PX01_AGENT_INTER = '60s';

type Mode = 'agent' | 'push';

async function rig(mode: Mode) {
  const dir = tempDir();
  const sim = await Simulator.start({ nodes: 3, tls: true, management: false });
  onTestFinished(() => sim.destroy());
  const agentPort = await freePort();
  const frontendPort = await freePort();
  const socket = `${dir}/admin.sock`;
  const haproxy = mode === 'push'
    ? { agent: null, runtime_api: [{ socket, backend: 'pexip', resync_interval: '5m', timeout: '1s', read_interval: `${READ_MS}ms` }] }
    : { agent: { listen: `127.0.0.1:${agentPort}`, idle_timeout: '2s', expected_interval: '1s' }, observe: [{ socket, backend: 'pexip', interval: `${READ_MS}ms`, timeout: '1s' }] };
  const dw = await startTestService({
    nodes: sim.nodes().map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl })),
    probe: { interval: `${PROBE_INTERVAL_MS}ms`, timeout: '400ms', jitter: 0, rise: 2, fall: 2, max_age: '3s', tls: { ca_file: testTlsPath('ca.pem') } },
    policy: { weight_smoothing: '0ms' },
    haproxy,
  });
  onTestFinished(() => dw.close());
  if (mode === 'agent') expect((dw.service.frontend('haproxy-agent') as HaproxyAgentFrontend).address()?.port).toBe(agentPort);
  const lines = haproxyServerLines(dw.service.config, { mode, cookie: false })
    .map((line) => (mode === 'agent' && /server px01 /.test(line) ? `${line} agent-inter ${PX01_AGENT_INTER}` : line));
  const derived = deriveConfig('haproxy.cfg', { dir, frontendPort, agentPort, serverLines: lines, push: mode === 'push' });
  const lb = await startHaproxy(dir, derived.text, derived.socket);
  const target = async (): Promise<LoadBalancerJson | undefined> => {
    const body = (await (await fetch(`${dw.url}/api/v1/loadbalancers`)).json()) as { loadbalancers: LoadBalancerJson[] };
    return body.loadbalancers.find((each) => each.kind === 'haproxy' && each.backend === 'pexip');
  };
  const node = async (name: string) => (await target())?.nodes.find((each) => each.name === name);
  const state = async (name: string) => (await lb.serversState('pexip')).get(name);
  /** Waits for `check` on a fast poll and returns the ms it took. */
  const within = async (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> => {
    const started = Date.now();
    await waitFor(check, timeoutMs, 20, what);
    return Date.now() - started;
  };
  await within(async () => (await target())?.status === 'in_sync', 20_000, 'every server in sync at start');
  return { sim, dw, lb, target, node, state, within };
}

describe.runIf(requires(SUITE, ['haproxy']))(SUITE, () => {
  it('agent mode: a drain is in_sync once HAProxy shows DRAIN; a hand-made maint is diverged within 2 reads; ready by hand is in_sync again', async () => {
    const r = await rig('agent');
    await r.sim.setPhase('px02', 'maintenance', 'Software upgrade');
    await r.within(async () => (await r.state('px02'))?.srv_admin_state === '8', 15_000, 'HAProxy DRAIN on px02');
    await r.within(async () => (await r.node('px02'))?.status === 'in_sync' && (await r.node('px02'))?.have === 'drain', 2 * READ_MS + 1000, 'px02 in_sync as drain');
    // The agent evidence needs no socket: which HAProxy asked, and what it was told.
    const evidence = await r.within(async () => {
      const body = (await (await fetch(`${r.dw.url}/api/v1/loadbalancers`)).json()) as { loadbalancers: LoadBalancerJson[] };
      const agent = body.loadbalancers.find((each) => each.id === 'haproxy-agent:127.0.0.1');
      return agent?.nodes.find((each) => each.name === 'px02')?.have === 'up drain #Software upgrade';
    }, 5000, 'agent evidence for px02');
    expect(evidence).toBeLessThan(5000);

    // px01's first agent check has run: the next one is a minute away.
    await r.within(async () => !['', 'INI', '* INI'].includes((await r.lb.stat('pexip')).get('px01')?.agent_status ?? ''), 15_000, 'px01 first agent check');
    expect(await r.lb.cli('set server pexip/px01 state maint')).toBe('\n');
    const reportMs = await r.within(async () => (await r.node('px01'))?.status === 'diverged', 2 * READ_MS + 200, 'px01 diverged');
    const px01 = await r.node('px01');
    expect(px01).toMatchObject({ want: 'ready 100%', have: 'maint' });
    expect(px01?.reason).toMatch(/changed behind drainwatch's back/);
    expect((await r.target())?.status).toBe('diverged');
    console.info(`agent mode: hand-made maint -> reported diverged in ${reportMs} ms (read interval ${READ_MS} ms)`);

    expect(await r.lb.cli('set server pexip/px01 state ready')).toBe('\n');
    await r.within(async () => (await r.node('px01'))?.status === 'in_sync', 2 * READ_MS + 1000, 'px01 in_sync again');
    expect((await r.state('px01'))?.srv_admin_state).toBe('0');
  });

  it('push mode: ready set by hand on a node in maintenance is repaired (DRAIN again) within 2 reads although resync_interval is 5 minutes', async () => {
    const r = await rig('push');
    await r.sim.setPhase('px02', 'maintenance', 'Software upgrade');
    await r.within(async () => (await r.state('px02'))?.srv_admin_state === '8', 10_000, 'HAProxy DRAIN on px02');
    await r.within(async () => (await r.node('px02'))?.status === 'in_sync', 2 * READ_MS + 1000, 'px02 in_sync');
    const repairsBefore = (await r.target())?.repairs ?? 0;

    // Timed from the model's own events, so the test's polling does not add to what it measures.
    let reportedAt: number | null = null;
    let repairedAt: number | null = null;
    const unsubscribe = r.dw.service.sync.onChange(({ target }) => {
      if (target.backend !== 'pexip') return;
      if (reportedAt === null && target.nodes.find((node) => node.name === 'px02')?.status === 'diverged') reportedAt = Date.now();
      if (repairedAt === null && target.repairs > repairsBefore) repairedAt = Date.now();
    });
    onTestFinished(unsubscribe);
    const started = Date.now();
    expect(await r.lb.cli('set server pexip/px02 state ready')).toBe('\n');
    // Slack over the 2 reads for a loaded 2-core machine; still far below resync_interval (5 minutes).
    await waitFor(async () => (await r.state('px02'))?.srv_admin_state === '8', 2 * READ_MS + 2000, 10, 'px02 DRAIN again');
    const drainMs = Date.now() - started;
    const reportMs = reportedAt === null ? null : reportedAt - started;
    const repairMs = repairedAt === null ? null : repairedAt - started;
    console.info(`push mode: hand-made ready -> reported diverged in ${reportMs} ms, repair sent in ${repairMs} ms, HAProxy DRAIN again seen in ${drainMs} ms (read interval ${READ_MS} ms)`);
    expect(reportMs).not.toBeNull();
    // 2 reads plus what a loaded shared 2-core machine adds (seen up to ~1 s when other suites run).
    expect(repairMs).toBeLessThanOrEqual(2 * READ_MS + 1500);
    await r.within(async () => (await r.node('px02'))?.status === 'in_sync', 2 * READ_MS + 1000, 'px02 in_sync after the repair');
    expect((await r.target())?.repairs).toBe(repairsBefore + 1);
    const metrics = await (await fetch(`${r.dw.url}/metrics`)).text();
    expect(metrics).toMatch(/drainwatch_loadbalancer_repairs_total\{kind="haproxy",target="haproxy:[^"]+\/pexip"\} 1/);
  });

  it('reports a stopped HAProxy as unreachable with a clear reason, without touching verdicts', async () => {
    const r = await rig('agent');
    const versionBefore = r.dw.service.core.snapshot().version;
    await r.lb.stop();
    await r.within(async () => (await r.target())?.status === 'unreachable', 2 * READ_MS + 2000, 'unreachable after HAProxy stopped');
    expect((await r.target())?.reason).toMatch(/^cannot read .*admin\.sock: /);
    expect(r.dw.service.core.snapshot().nodes.every((node) => node.state === 'ready')).toBe(true);
    expect(r.dw.service.core.snapshot().version).toBeGreaterThanOrEqual(versionBefore);
  });
});
