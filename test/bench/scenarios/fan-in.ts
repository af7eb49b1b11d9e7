// Load on the nodes with 3 HAProxy instances: native `option httpchk` vs agent checks through one drainwatch.

import type { BenchContext, Scenario } from '../lib/context.js';
import { agentDefaultServer, exampleParts, startHaproxy } from '../lib/haproxy.js';
import type { Haproxy } from '../lib/haproxy.js';
import { ratio } from '../lib/report.js';
import type { ScenarioResult } from '../lib/report.js';
import { fmt, sleep } from '../lib/stats.js';
import { startWorker } from '../lib/workers.js';
import type { SimNodeInfo } from '../workers/sim.js';

const INSTANCES = 3;
const NATIVE = 'default-server weight 100 check inter 1s fall 3 rise 2';

function serverLines(nodes: SimNodeInfo[], agentSend: boolean): string {
  return nodes.map((node) => `    server ${node.name} ${node.address}:${node.port}${agentSend ? ` agent-send "${node.name}\\n"` : ''}`).join('\n');
}

/**
 * Both sides run 1 s timers, so the expected ratio is exactly 1/3; a node's count over the window
 * is an integer (±1 at the window's edges) and each side's timers slip by a few ms per period. 2 %
 * above 1/3 is inside that noise; a real regression (probing per load balancer) would read 1.0.
 */
const TOLERATED = (1 / 3) * 1.02;

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export const fanIn: Scenario = {
  name: 'fan-in',
  title: 'Probe load on the nodes with 3 HAProxy instances',
  budgetMs: 120_000,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const perGroup = context.short ? 15 : 30;
    const windowMs = context.short ? 6000 : 30_000;
    const parts = exampleParts();

    // Two groups of nodes in one fleet, measured at the same time: A behind native checks, B behind drainwatch.
    const sim = await startWorker('sim', { core: context.loadCore, label: 'sim' });
    context.defer(() => sim.stop());
    const nodes = await sim.call<SimNodeInfo[]>('start', { count: 2 * perGroup, width: 3 });
    const native = nodes.slice(0, perGroup);
    const watched = nodes.slice(perGroup);

    const dw = await startWorker('service', { core: context.measuredCore, label: 'fan-in-drainwatch' });
    context.defer(() => dw.stop());
    const { agentPort } = await dw.call<{ agentPort: number }>('start', {
      config: {
        nodes: watched.map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl })),
        http: { listen: '127.0.0.1:0' },
        haproxy: { agent: { listen: '127.0.0.1:0' } },
      },
    });
    const agentLine = agentDefaultServer(parts, agentPort);
    const body = [
      'backend native',
      '    balance leastconn',
      '    option httpchk GET /api/client/v2/status',
      '    http-check expect status 200',
      `    ${NATIVE}`,
      serverLines(native, false),
      '',
      'backend pexip',
      '    balance leastconn',
      `    ${agentLine}`,
      serverLines(watched, true),
    ].join('\n');
    const haproxies: Haproxy[] = [];
    for (let i = 0; i < INSTANCES; i += 1) {
      const haproxy = await startHaproxy(parts, body, { label: `haproxy-${i + 1}` });
      context.defer(() => haproxy.stop());
      haproxies.push(haproxy);
    }
    await sleep(3000);
    context.log(`  ${INSTANCES} HAProxy instances x (${perGroup} native-checked + ${perGroup} drainwatch-checked nodes); counting status requests for ${windowMs / 1000} s`);
    await sim.call('resetCounters');
    const cpuBefore = (await dw.usage()).cpuS;
    const started = performance.now();
    await sleep(windowMs);
    const counts = await sim.call<number[]>('probeRequests', { names: nodes.map((node) => node.name) });
    const seconds = (performance.now() - started) / 1000;
    const dwCpu = (await dw.usage()).cpuS - cpuBefore;
    const nativeRate = sum(counts.slice(0, perGroup)) / perGroup / seconds;
    const watchedRate = sum(counts.slice(perGroup)) / perGroup / seconds;
    const r = ratio(watchedRate, nativeRate);
    const tcpInter = Number(/check inter (\d+)s/.exec(agentLine)?.[1] ?? 2);
    const agentInter = Number(/agent-inter (\d+)s/.exec(agentLine)?.[1] ?? 2);
    return {
      rows: [
        {
          scenario: 'fan-in (3 HAProxy)',
          measure: 'status requests/s per node',
          drainwatch: watchedRate,
          baselineName: 'native httpchk',
          baseline: nativeRate,
          ratio: r,
          target: `≤ 1/3 of native (${fmt(TOLERATED, 3)} with counting tolerance)`,
          hit: r !== null && r <= TOLERATED,
          digits: 3,
        },
      ],
      notes: [
        `fan-in: ${INSTANCES} HAProxy processes, each with a native backend (\`option httpchk\` + \`${NATIVE}\`) over nodes 1..${perGroup} and the example's agent-mode backend (\`${agentLine}\`) over nodes ${perGroup + 1}..${2 * perGroup}, both groups in one simulated fleet and counted over the same ${fmt(seconds)} s window by the simulator (requests to /api/client/v2/status per node).`,
        `fan-in: with drainwatch, each node also receives ${INSTANCES} plain TCP liveness connects every ${tcpInter} s (the example's \`check\`, ${fmt(INSTANCES / tcpInter)}/s, no HTTP request), and drainwatch answers ${fmt((INSTANCES * perGroup) / agentInter)} agent checks/s; drainwatch used ${fmt((dwCpu / seconds) * 100)} % of a core meanwhile (probing ${perGroup} nodes at 1 s and answering the agents). Each node's own rate: native ≈ ${INSTANCES} × 1/inter, drainwatch ≈ 1/probe interval, so the ratio sits at 1/3 by construction and the measurement decides which side of it the timers' slack falls.`,
      ],
    };
  },
};
