// Drain propagation with real HAProxy: agent mode, push mode and native `option httpchk`, side by side in one HAProxy.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, Scenario } from '../lib/context.js';
import { agentDefaultServer, exampleParts, haproxyDir, startHaproxy } from '../lib/haproxy.js';
import type { Haproxy } from '../lib/haproxy.js';
import { ratio } from '../lib/report.js';
import type { ResultRow, ScenarioResult } from '../lib/report.js';
import { fmt, median, percentile, sleep } from '../lib/stats.js';
import { startWorker } from '../lib/workers.js';
import type { Worker } from '../lib/workers.js';
import type { SimNodeInfo } from '../workers/sim.js';

const PROBE_INTERVAL_MS = 1000;
const AGENT_INTER = '1s';
const AGENT_INTER_MS = 1000;
const NATIVE = 'default-server weight 100 check inter 1s fall 3 rise 2';
const MODES = ['agent', 'push', 'native'] as const;
type Mode = (typeof MODES)[number];

/** What HAProxy shows once a node's drain has reached it, per mode (native checks can only mark it DOWN). */
const reached: Record<Mode, (status: string) => boolean> = {
  agent: (status) => status.startsWith('DRAIN'),
  push: (status) => status.startsWith('DRAIN'),
  native: (status) => status.startsWith('DOWN'),
};

function serverLines(nodes: SimNodeInfo[], agentSend: boolean): string {
  return nodes.map((node) => `    server ${node.name} ${node.address}:${node.port}${agentSend ? ` agent-send "${node.name}\\n"` : ''}`).join('\n');
}

/** Polls `show stat` until `done` holds or `timeoutMs` passes; calls `observe` with every answer. */
async function pollUntil(haproxy: Haproxy, timeoutMs: number, observe: (statuses: Map<string, string>, at: number) => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const statuses = await haproxy.statuses();
    if (observe(statuses, Date.now())) return true;
    await sleep(10);
  }
  return false;
}

async function allUp(haproxy: Haproxy, dw: Worker, names: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const states = await dw.call<Record<string, string>>('states');
    const statuses = await haproxy.statuses();
    if (names.every((name) => states[name] === 'ready' && MODES.every((mode) => statuses.get(`${mode}/${name}`) === 'UP'))) return true;
    await sleep(50);
  }
  return false;
}

export const propagation: Scenario = {
  name: 'propagation',
  title: 'Drain propagation to real HAProxy: agent, push, native httpchk',
  budgetMs: 120_000,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const nodeCount = context.short ? 12 : 40;
    const rounds = context.short ? 1 : 2;
    const spreadMs = context.short ? 3000 : 8000;
    const parts = exampleParts();

    const sim = await startWorker('sim', { core: context.loadCore, label: 'sim' });
    context.defer(() => sim.stop());
    const nodes = await sim.call<SimNodeInfo[]>('start', { count: nodeCount, width: 3 });
    const names = nodes.map((node) => node.name);

    const dir = haproxyDir();
    context.defer(() => rmSync(dir, { recursive: true, force: true }));
    const socket = join(dir, 'admin.sock');
    const dw = await startWorker('service', { core: context.measuredCore, profile: true, label: 'propagation-drainwatch' });
    context.defer(() => dw.stop());
    const { agentPort } = await dw.call<{ agentPort: number }>('start', {
      config: {
        nodes: nodes.map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl })),
        probe: { interval: `${PROBE_INTERVAL_MS}ms` },
        http: { listen: '127.0.0.1:0' },
        haproxy: { agent: { listen: '127.0.0.1:0' }, runtime_api: [{ socket, backend: 'push' }] },
      },
    });
    const body = [
      'backend agent',
      '    balance leastconn',
      `    ${agentDefaultServer(parts, agentPort, AGENT_INTER)}`,
      serverLines(nodes, true),
      '',
      'backend push',
      '    balance leastconn',
      `    ${parts.pushDefaultServer}`,
      serverLines(nodes, false),
      '',
      'backend native',
      '    balance leastconn',
      '    option httpchk GET /api/client/v2/status',
      '    http-check expect status 200',
      `    ${NATIVE}`,
      serverLines(nodes, false),
    ].join('\n');
    const haproxy = await startHaproxy(parts, body, { dir, label: 'haproxy' });
    context.defer(() => haproxy.stop());
    if (!(await allUp(haproxy, dw, names, 20_000))) throw new Error('HAProxy and drainwatch did not agree that every node is up within 20 s');
    await sleep(1500); // let the pusher's first full push and the agents settle

    const samples: Record<Mode, number[]> = { agent: [], push: [], native: [] };
    let missed = 0;
    context.log(`  ${nodeCount} nodes x ${rounds} round(s): flips spread over ${spreadMs / 1000} s, show stat polled every ~10 ms`);
    for (let round = 0; round < rounds; round += 1) {
      const flippedAt = new Map<string, number>();
      const pending = new Set<string>(); // "mode/name"
      const flips = names.map(async (name) => {
        await sleep(Math.random() * spreadMs);
        const at = await sim.call<number>('setPhase', { name, phase: 'maintenance' });
        flippedAt.set(name, at);
        for (const mode of MODES) pending.add(`${mode}/${name}`);
      });
      let flipping = true;
      const flipped = Promise.all(flips).then(() => {
        flipping = false;
      });
      await pollUntil(haproxy, spreadMs + 12_000, (statuses, at) => {
        for (const key of [...pending]) {
          const [mode, name] = key.split('/') as [Mode, string];
          if (reached[mode](statuses.get(key) ?? '')) {
            samples[mode].push(at - (flippedAt.get(name) as number));
            pending.delete(key);
          }
        }
        return !flipping && pending.size === 0;
      });
      await flipped;
      missed += pending.size;
      await Promise.all(names.map((name) => sim.call('setPhase', { name, phase: 'up' })));
      if (!(await allUp(haproxy, dw, names, 20_000))) throw new Error(`round ${round + 1}: nodes did not come back up everywhere within 20 s`);
      await sleep(500);
    }

    const agentBound = PROBE_INTERVAL_MS + AGENT_INTER_MS + 100;
    const pushBound = PROBE_INTERVAL_MS + 100;
    const p99 = (mode: Mode) => percentile(samples[mode], 99);
    const rows: ResultRow[] = [
      { scenario: 'propagation', measure: 'push mode, median', unit: 'ms', drainwatch: median(samples.push), baselineName: 'native httpchk', baseline: median(samples.native), ratio: ratio(median(samples.push), median(samples.native)) },
      { scenario: 'propagation', measure: 'push mode, p99', unit: 'ms', drainwatch: p99('push'), baselineName: 'native httpchk', baseline: p99('native'), ratio: ratio(p99('push'), p99('native')), target: `≤ ${pushBound} ms`, hit: p99('push') <= pushBound },
      { scenario: 'propagation', measure: `agent mode (agent-inter ${AGENT_INTER}), median`, unit: 'ms', drainwatch: median(samples.agent), baselineName: 'native httpchk', baseline: median(samples.native), ratio: ratio(median(samples.agent), median(samples.native)) },
      { scenario: 'propagation', measure: `agent mode (agent-inter ${AGENT_INTER}), p99`, unit: 'ms', drainwatch: p99('agent'), baselineName: 'native httpchk', baseline: p99('native'), ratio: ratio(p99('agent'), p99('native')), target: `≤ ${agentBound} ms`, hit: p99('agent') <= agentBound },
    ];
    return {
      rows,
      notes: [
        `propagation: one HAProxy ${'2.6'} with three backends over the same ${nodeCount} simulated nodes (agent mode from the example's default-server line with agent-inter ${AGENT_INTER}; push mode via the runtime API on a unix stats socket; native \`option httpchk GET /api/client/v2/status\` + \`${NATIVE}\`, where a 503 can only turn the server DOWN). drainwatch: a full Service, probe interval ${PROBE_INTERVAL_MS} ms with the default jitter 0.1 (so gaps up to ${PROBE_INTERVAL_MS * 1.1} ms), pinned to core ${context.measuredCore}.`,
        `propagation: time from the simulator flipping a node to 503 (its own clock, after the change) until \`show stat\` (polled every ~10 ms) shows DRAIN (agent, push) or DOWN (native); ${samples.push.length} push, ${samples.agent.length} agent and ${samples.native.length} native samples over ${rounds} round(s) of ${nodeCount} flips at random moments; ${missed} not seen within the bound. max: push ${fmt(Math.max(...samples.push))} ms, agent ${fmt(Math.max(...samples.agent))} ms, native ${fmt(Math.max(...samples.native))} ms.`,
      ],
    };
  },
};
