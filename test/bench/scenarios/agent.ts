// Agent-check throughput and latency: drainwatch's agent server vs a bare node:net server, new connection per check.

import type { BenchContext, Scenario } from '../lib/context.js';
import { benchNode } from '../lib/bench-node.js';
import { ratio } from '../lib/report.js';
import type { ScenarioResult } from '../lib/report.js';
import { fmt, sleep } from '../lib/stats.js';
import { startWorker } from '../lib/workers.js';
import type { AgentLoadResult } from '../workers/agent-load.js';

const NODES = 100;
const RATE = 5000;
const CONCURRENCY = 32;

type Measured = { max: AgentLoadResult; rated: AgentLoadResult; serverCpuPerKChecks: number; rounds: number[] };

type Rig = {
  closedLoop(durationMs: number): Promise<{ result: AgentLoadResult; serverCpuS: number }>;
  openLoop(durationMs: number): Promise<AgentLoadResult>;
  stop(): Promise<void>;
};

async function rig(context: BenchContext, mode: 'drainwatch' | 'bare', names: string[]): Promise<Rig> {
  const server = await startWorker('agent-server', { core: context.measuredCore, profile: mode === 'drainwatch', label: `agent-${mode}` });
  context.defer(() => server.stop());
  const load = await startWorker('agent-load', { core: context.loadCore, label: `agent-load-${mode}` });
  context.defer(() => load.stop());
  const port = await server.call<number>('start', { mode, names });
  // A short warm-up so both servers are measured with optimised code.
  await load.call('run', { port, names, durationMs: 1000, concurrency: CONCURRENCY });
  return {
    async closedLoop(durationMs) {
      await server.profileStart();
      const before = await server.usage();
      const result = await load.call<AgentLoadResult>('run', { port, names, durationMs, concurrency: CONCURRENCY });
      const after = await server.usage();
      await server.profileStop();
      return { result, serverCpuS: after.cpuS - before.cpuS };
    },
    openLoop: (durationMs) => load.call<AgentLoadResult>('run', { port, names, durationMs, rate: RATE }),
    async stop() {
      await load.stop();
      await server.stop();
    },
  };
}

/**
 * Runs both servers in interleaved rounds (drainwatch, bare, repeated) so a slow patch of the shared
 * machine hits both alike; the throughput figure is each side's median round.
 */
async function measureBoth(context: BenchContext, names: string[], rounds: number, roundMs: number, ratedMs: number): Promise<{ dw: Measured; base: Measured }> {
  const rigs = { dw: await rig(context, 'drainwatch', names), base: await rig(context, 'bare', names) };
  const runs = { dw: [] as Array<{ result: AgentLoadResult; serverCpuS: number }>, base: [] as Array<{ result: AgentLoadResult; serverCpuS: number }> };
  for (let round = 0; round < rounds; round++) {
    for (const side of ['dw', 'base'] as const) {
      runs[side].push(await rigs[side].closedLoop(roundMs));
      await sleep(300);
    }
  }
  const out = {} as { dw: Measured; base: Measured };
  for (const side of ['dw', 'base'] as const) {
    const sorted = [...runs[side]].sort((a, b) => a.result.checksPerS - b.result.checksPerS);
    const middle = sorted[Math.floor(sorted.length / 2)] as { result: AgentLoadResult; serverCpuS: number };
    const checks = runs[side].reduce((total, r) => total + r.result.checks, 0);
    const cpu = runs[side].reduce((total, r) => total + r.serverCpuS, 0);
    out[side] = { max: middle.result, rated: await rigs[side].openLoop(ratedMs), serverCpuPerKChecks: (cpu / checks) * 1000, rounds: runs[side].map((r) => r.result.checksPerS) };
    await sleep(300);
  }
  await rigs.dw.stop();
  await rigs.base.stop();
  return out;
}

export const agentCheck: Scenario = {
  name: 'agent',
  title: 'HAProxy agent-check throughput and latency',
  budgetMs: 120_000,
  async run(context): Promise<ScenarioResult> {
    const durationMs = context.short ? 3000 : 15_000;
    const rounds = context.short ? 1 : 5;
    const roundMs = context.short ? durationMs : 3000;
    const names = Array.from({ length: NODES }, (_, i) => benchNode(i).name);
    context.log(`  drainwatch agent server (${NODES} ready nodes) and a bare node:net server: ${rounds} interleaved round(s) of ${roundMs / 1000} s closed loop x${CONCURRENCY}, then ${durationMs / 1000} s at ${RATE}/s each`);
    const { dw, base } = await measureBoth(context, names, rounds, roundMs, durationMs);
    const scenario = 'agent-check';
    const baselineName = 'bare node:net';
    const throughputRatio = ratio(dw.max.checksPerS, base.max.checksPerS);
    return {
      rows: [
        { scenario, measure: `checks/s, max (closed loop, median of ${rounds})`, drainwatch: dw.max.checksPerS, baselineName, baseline: base.max.checksPerS, ratio: throughputRatio, target: '≥ 0.8 × baseline', hit: (throughputRatio ?? 0) >= 0.8 },
        { scenario, measure: 'latency p50 at max', unit: 'ms', drainwatch: dw.max.p50Ms, baseline: base.max.p50Ms, ratio: ratio(dw.max.p50Ms, base.max.p50Ms) },
        { scenario, measure: 'latency p99 at max', unit: 'ms', drainwatch: dw.max.p99Ms, baseline: base.max.p99Ms, ratio: ratio(dw.max.p99Ms, base.max.p99Ms) },
        { scenario, measure: `checks/s at ${RATE}/s offered`, drainwatch: dw.rated.checksPerS, baseline: base.rated.checksPerS },
        { scenario, measure: `latency p50 at ${RATE}/s`, unit: 'ms', drainwatch: dw.rated.p50Ms, baseline: base.rated.p50Ms, ratio: ratio(dw.rated.p50Ms, base.rated.p50Ms) },
        { scenario, measure: `latency p99 at ${RATE}/s`, unit: 'ms', drainwatch: dw.rated.p99Ms, baseline: base.rated.p99Ms, ratio: ratio(dw.rated.p99Ms, base.rated.p99Ms), target: '≤ 2 ms', hit: dw.rated.p99Ms <= 2 && dw.rated.checksPerS >= 0.95 * RATE },
        { scenario, measure: 'server CPU per 1,000 checks', unit: 's', drainwatch: dw.serverCpuPerKChecks, baseline: base.serverCpuPerKChecks, ratio: ratio(dw.serverCpuPerKChecks, base.serverCpuPerKChecks), digits: 3 },
      ],
      notes: [
        `agent-check: server pinned to core ${context.measuredCore}, load generator (one Node process, new TCP connection per check, "<name>\\n" then one line back) on core ${context.loadCore}. Closed loop: ${CONCURRENCY} connections in flight, ${rounds} interleaved rounds of ${roundMs / 1000} s (checks/s per round: drainwatch ${dw.rounds.map((r) => fmt(r, 0)).join(' / ')}, bare ${base.rounds.map((r) => fmt(r, 0)).join(' / ')}; latencies at max are from the median round); open loop: ${RATE} checks/s for ${durationMs / 1000} s, latency from connect() to the reply line, measured by the load generator.`,
        `agent-check: errors/bad replies drainwatch ${dw.max.errors + dw.rated.errors}/${dw.max.badReplies + dw.rated.badReplies}, baseline ${base.max.errors + base.rated.errors}/${base.max.badReplies + base.rated.badReplies}; open-loop checks skipped (in-flight cap) ${dw.rated.skipped} vs ${base.rated.skipped}. Load generator CPU at max: ${fmt(dw.max.loadCpuS / dw.max.seconds * 100, 0)} % vs ${fmt(base.max.loadCpuS / base.max.seconds * 100, 0)} % of a core (near 100 % means the generator, not the server, set the ceiling).`,
      ],
    };
  },
};
