// Shared setup for the real-HAProxy tests: simulator + drainwatch + HAProxy from a committed example.

import { onTestFinished } from 'vitest';
import { Simulator, testTlsPath } from '../../../src/simulator/index.js';
import { haproxyServerLines } from '../../../src/cli/commands/print-haproxy.js';
import { startTestService, waitFor } from '../../helpers/service.js';
import { AGENT_INTER_MS, PROBE_INTERVAL_MS, deriveConfig, freePort, startHaproxy, tempDir } from './harness.js';
import type { Haproxy } from './harness.js';
import type { TestService } from '../../helpers/service.js';
import type { HaproxyAgentFrontend } from '../../../src/frontends/haproxy/agent-server.js';

export type Rig = {
  sim: Simulator;
  haproxy: Haproxy;
  dw: TestService;
  dir: string;
  frontendPort: number;
  agentPort: number;
  /** drainwatch's config object (to restart it with the same settings). */
  config: Record<string, unknown>;
  /** Sets a node's media load as the Management Node poller would. */
  setLoad(name: string, load: number): void;
  /** Polls HAProxy until `check` holds for a server; returns the elapsed ms. */
  waitServer(name: string, check: (stat: Record<string, string>, state: Record<string, string>) => boolean, timeoutMs: number, what: string): Promise<number>;
  restartDrainwatch(): Promise<void>;
};

export type RigOptions = { example?: 'haproxy.cfg' | 'haproxy-http.cfg'; push?: boolean; nodes?: number; ghost?: boolean };

/** drainwatch config for the simulator's nodes, probing every PROBE_INTERVAL_MS. */
export function drainwatchConfig(sim: Simulator, haproxy: Record<string, unknown>): Record<string, unknown> {
  return {
    nodes: sim.nodes().map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl })),
    probe: { interval: `${PROBE_INTERVAL_MS}ms`, timeout: '400ms', jitter: 0, rise: 2, fall: 2, max_age: '3s', tls: { ca_file: testTlsPath('ca.pem') } },
    policy: { weight_smoothing: '0ms' },
    haproxy,
  };
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const example = options.example ?? 'haproxy.cfg';
  const dir = tempDir();
  const sim = await Simulator.start({ nodes: options.nodes ?? 3, tls: true, management: false });
  onTestFinished(() => sim.destroy());
  const agentPort = await freePort();
  const frontendPort = await freePort();
  const socket = `${dir}/admin.sock`;
  const config = drainwatchConfig(
    sim,
    options.push
      ? { agent: null, runtime_api: [{ socket, backend: 'pexip', resync_interval: '5s', timeout: '1s' }] }
      : { agent: { listen: `127.0.0.1:${agentPort}`, idle_timeout: '2s' } },
  );
  let dw = await startTestService(config);
  const first = dw;
  onTestFinished(() => first.close());
  const lines = haproxyServerLines(dw.service.config, { mode: options.push ? 'push' : 'agent', cookie: example === 'haproxy-http.cfg' });
  if (options.ghost) {
    // A server drainwatch does not know, pointing at a live node so HAProxy's own check passes.
    const target = sim.nodes()[0];
    lines.push(`    server pxghost 127.0.0.1:${target?.port} agent-send "pxghost\\n"`);
  }
  if (!options.push) {
    const bound = (dw.service.frontend('haproxy-agent') as HaproxyAgentFrontend).address();
    if (bound?.port !== agentPort) throw new Error(`agent bound ${JSON.stringify(bound)}, expected port ${agentPort}`);
  }
  const derived = deriveConfig(example, { dir, frontendPort, agentPort, serverLines: lines, push: options.push });
  const haproxy = await startHaproxy(dir, derived.text, derived.socket);

  const rig: Rig = {
    sim,
    haproxy,
    get dw() {
      return dw;
    },
    dir,
    frontendPort,
    agentPort,
    config,
    setLoad(name, load) {
      dw.service.core.recordManagement(name, { maintenance: false, reason: '', load, calls: null, at: Date.now(), stale: false });
    },
    async waitServer(name, check, timeoutMs, what) {
      const started = Date.now();
      await waitFor(
        async () => {
          const [stat, state] = await Promise.all([haproxy.stat('pexip'), haproxy.serversState('pexip')]);
          const row = stat.get(name);
          const srv = state.get(name);
          return row !== undefined && srv !== undefined && check(row, srv);
        },
        timeoutMs,
        50,
        `${name}: ${what}`,
      );
      return Date.now() - started;
    },
    async restartDrainwatch() {
      const next = await startTestService(config);
      onTestFinished(() => next.close());
      dw = next;
    },
  } as Rig;
  // Every node READY at full weight before a test starts changing things.
  for (const node of sim.nodes()) {
    await rig.waitServer(node.name, (stat) => stat.status === 'UP', 10 * AGENT_INTER_MS, 'UP at start');
  }
  return rig;
}
