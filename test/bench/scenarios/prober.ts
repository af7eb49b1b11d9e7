// Prober scale: drainwatch's probing pipeline vs a bare undici loop, same nodes, same rate, one core each.

import type { BenchContext, Scenario } from '../lib/context.js';
import { ratio } from '../lib/report.js';
import type { ResultRow, ScenarioResult } from '../lib/report.js';
import { fmt, mib, sleep } from '../lib/stats.js';
import { startWorker } from '../lib/workers.js';
import type { Worker } from '../lib/workers.js';
import type { ProberWindow } from '../workers/prober.js';
import type { SimNodeInfo } from '../workers/sim.js';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 800;
const CONCURRENCY = 256;
/** One simulator process holds at most this many nodes: listeners + keep-alive sockets stay under a 20,000 fd limit. */
const NODES_PER_SIM = 5000;

async function startFleet(context: BenchContext, count: number): Promise<{ sims: Worker[]; nodes: SimNodeInfo[] }> {
  const sims: Worker[] = [];
  const nodes: SimNodeInfo[] = [];
  for (let first = 1, i = 0; first <= count; first += NODES_PER_SIM, i += 1) {
    const sim = await startWorker('sim', { core: context.loadCore, label: `sim-${i}` });
    context.defer(() => sim.stop());
    sims.push(sim);
    // Each simulator process gets its own 127.<1+2i>.0.0/15 block of addresses.
    nodes.push(...(await sim.call<SimNodeInfo[]>('start', { count: Math.min(NODES_PER_SIM, count - first + 1), first, baseAddress: `127.${1 + 2 * i}.0.1` }, 120_000)));
  }
  return { sims, nodes };
}

async function measure(context: BenchContext, mode: 'drainwatch' | 'undici', nodes: SimNodeInfo[], warmupMs: number, windowMs: number): Promise<ProberWindow> {
  const prober = await startWorker('prober', { core: context.measuredCore, profile: mode === 'drainwatch', label: `prober-${mode}-${nodes.length}` });
  try {
    await prober.call('start', { mode, nodes, intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, concurrency: CONCURRENCY });
    await sleep(warmupMs);
    await prober.call('mark');
    if (windowMs > 0) await prober.profileStart();
    await sleep(windowMs);
    const report = await prober.call<ProberWindow>('report');
    if (windowMs > 0) await prober.profileStop();
    return report;
  } finally {
    await prober.stop();
    await sleep(500); // let the simulators see those connections close
  }
}

const reasons = (w: ProberWindow): string => {
  const entries = Object.entries(w.failureReasons);
  return entries.length === 0 ? '' : ` (${entries.map(([reason, n]) => `${n} ${reason}`).join('; ')})`;
};

function scenario(count: number): Scenario {
  const label = count >= 1000 ? `${count / 1000}k` : String(count);
  return {
    name: `prober-${label}`,
    title: `Prober scale: ${count.toLocaleString('en-US')} nodes at 1 s`,
    budgetMs: 120_000,
    async run(context): Promise<ScenarioResult> {
      const windowMs = context.short ? 5000 : 30_000;
      const warmupMs = context.short ? (count > 2000 ? 4000 : 2000) : count > 2000 ? 8000 : 4000;
      const { nodes } = await startFleet(context, count);
      // Whoever runs first would otherwise meet a cold simulator (unoptimised code, no connections
      // ever accepted) and pay for it with timeouts: warm it with a throwaway bare loop first.
      context.log(`  warming the simulator up for ${warmupMs / 1000} s`);
      await measure(context, 'undici', nodes, warmupMs, 0);
      context.log(`  ${nodes.length} simulated nodes up; measuring drainwatch for ${windowMs / 1000} s after ${warmupMs / 1000} s warm-up`);
      const dw = await measure(context, 'drainwatch', nodes, warmupMs, windowMs);
      context.log(`  measuring the bare undici loop`);
      const base = await measure(context, 'undici', nodes, warmupMs, windowMs);
      const rate = (w: ProberWindow) => w.probes / w.seconds;
      const cpuPer1k = (w: ProberWindow) => (w.probes > 0 ? (w.cpuS / w.probes) * 1000 : Number.NaN);
      const scenarioName = `prober ${label}`;
      const is10k = count >= 10_000;
      const rows: ResultRow[] = [
        { scenario: scenarioName, measure: 'probes/s achieved', unit: `want ${count.toLocaleString('en-US')}`, drainwatch: rate(dw), baselineName: 'bare undici loop', baseline: rate(base), ratio: ratio(rate(dw), rate(base)) },
        {
          scenario: scenarioName,
          measure: 'schedule lateness p99',
          unit: 'ms',
          drainwatch: dw.latenessP99,
          baseline: base.latenessP99,
          ...(is10k ? { target: '≤ 100 ms', hit: dw.latenessP99 <= 100 } : {}),
        },
        { scenario: scenarioName, measure: 'CPU per 1,000 probes', unit: 's', drainwatch: cpuPer1k(dw), baseline: cpuPer1k(base), ratio: ratio(cpuPer1k(dw), cpuPer1k(base)), digits: 3 },
        {
          scenario: scenarioName,
          measure: 'peak RSS',
          unit: 'MiB',
          drainwatch: mib(dw.peakRssBytes),
          baseline: mib(base.peakRssBytes),
          ratio: ratio(dw.peakRssBytes, base.peakRssBytes),
          ...(is10k ? { target: '≤ 300 MB', hit: dw.peakRssBytes <= 300e6 } : {}),
        },
      ];
      if (is10k) {
        rows.push({
          scenario: scenarioName,
          measure: 'keeps up on one core',
          drainwatch: `${fmt((dw.cpuS / dw.seconds) * 100, 0)} % of a core`,
          baseline: `${fmt((base.cpuS / base.seconds) * 100, 0)} % of a core`,
          target: `≥ 98 % of ${count.toLocaleString('en-US')}/s`,
          hit: rate(dw) >= 0.98 * count * (1000 / INTERVAL_MS),
        });
      }
      const notes = [
        `${scenarioName}: each prober ran alone in its own process pinned to core ${context.measuredCore}; the simulator (${Math.ceil(count / NODES_PER_SIM)} process(es), plain HTTP keep-alive, 127.x addresses) on core ${context.loadCore}. Window ${windowMs / 1000} s after a ${warmupMs / 1000} s warm-up (the first sweep, when every node is due at once, is excluded).`,
        `${scenarioName}: drainwatch = a real Service (prober, scheduler with jitter 0.1 and concurrency ${CONCURRENCY}, state core, metrics), no front-ends; baseline = one undici keep-alive GET per node per second with starts spread evenly, no state. Failures: drainwatch ${dw.failures}${reasons(dw)}, baseline ${base.failures}${reasons(base)}. New connections in the window: ${dw.connects} vs ${base.connects}. p50 lateness ${fmt(dw.latenessP50)} ms vs ${fmt(base.latenessP50)} ms, max ${fmt(dw.latenessMax)} ms vs ${fmt(base.latenessMax)} ms.`,
      ];
      return { rows, notes };
    },
  };
}

export const prober1k = scenario(1000);
export const prober10k = scenario(10_000);
