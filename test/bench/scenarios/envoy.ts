// Envoy front door: /envoy/health vs a bare hono route and a bare node:http handler; REST EDS with 1,000 endpoints.

import { request } from 'undici';
import type { BenchContext, Scenario } from '../lib/context.js';
import { ratio } from '../lib/report.js';
import type { ResultRow, ScenarioResult } from '../lib/report.js';
import { fmt, median, sleep } from '../lib/stats.js';
import { startWorker } from '../lib/workers.js';
import type { HttpLoadArgs, HttpLoadResult } from '../workers/http-load.js';
import type { HttpTargetArgs } from '../workers/http-target.js';
import { benchNode } from '../lib/bench-node.js';

const HEALTH_NODES = 100;
const EDS_NODES = 1000;
const CONNECTIONS = 32;
const EDS_CONNECTIONS = 8;
const EDS_REQUEST = JSON.stringify({
  version_info: '',
  node: { id: 'bench-envoy', cluster: 'bench' },
  resource_names: ['pexip'],
  type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  response_nonce: '',
});

type Target = { port: number; usage: () => Promise<{ cpuS: number }>; profileStart: () => Promise<void>; profileStop: () => Promise<void>; stop: () => Promise<void> };

async function target(context: BenchContext, args: HttpTargetArgs, label: string): Promise<Target> {
  const worker = await startWorker('http-target', { core: context.measuredCore, profile: args.mode !== 'node-http', label });
  context.defer(() => worker.stop());
  const port = await worker.call<number>('start', args);
  return { port, usage: () => worker.usage(), profileStart: () => worker.profileStart(), profileStop: () => worker.profileStop(), stop: () => worker.stop() };
}

type Load = { run(args: HttpLoadArgs): Promise<HttpLoadResult & { serverCpuS: number }> };

type Measured = HttpLoadResult & { serverCpuS: number };

/**
 * Combines interleaved rounds of one server: median rate and latencies (this machine swings between
 * a slow and a fast phase; interleaved rounds give both sides the same mix), CPU and totals summed.
 */
function combine(rounds: Measured[]): Measured {
  const first = rounds[0] as Measured;
  const sum = (pick: (r: Measured) => number) => rounds.reduce((total, r) => total + pick(r), 0);
  return {
    ...first,
    requestsPerS: median(rounds.map((r) => r.requestsPerS)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    total: sum((r) => r.total),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    loadCpuS: sum((r) => r.loadCpuS),
    serverCpuS: sum((r) => r.serverCpuS),
  };
}

async function measure(context: BenchContext, server: Target, args: Omit<HttpLoadArgs, 'url'> & { path: string }, warmS: number): Promise<Measured> {
  const load = await startWorker('http-load', { core: context.loadCore, label: 'http-load' });
  try {
    const url = `http://127.0.0.1:${server.port}${args.path}`;
    await load.call('run', { ...args, url, durationS: warmS });
    await server.profileStart();
    const before = await server.usage();
    const result = await load.call<HttpLoadResult>('run', { ...args, url });
    const after = await server.usage();
    await server.profileStop();
    return { ...result, serverCpuS: after.cpuS - before.cpuS };
  } finally {
    await load.stop();
  }
}

export const envoy: Scenario = {
  name: 'envoy',
  title: 'Envoy health endpoint and REST EDS',
  budgetMs: 120_000,
  async run(context): Promise<ScenarioResult> {
    const durationS = context.short ? 3 : 10;
    // The health comparison runs in interleaved rounds (drainwatch, hono, node:http, repeated) so a
    // slow patch of the shared machine hits all three alike; each figure is the median of its rounds.
    const rounds = context.short ? 1 : 5;
    const roundS = context.short ? durationS : 3;
    const warmS = 1;
    const host = benchNode(0).name;
    const healthArgs = { path: '/envoy/health', headers: { host }, connections: CONNECTIONS, durationS: roundS };

    context.log(`  /envoy/health: ${rounds} interleaved round(s) of ${roundS} s each, ${CONNECTIONS} keep-alive connections, Host: ${host}`);
    const dwHealth = await target(context, { mode: 'drainwatch', nodes: HEALTH_NODES }, 'http-drainwatch');
    const sample = await request(`http://127.0.0.1:${dwHealth.port}/envoy/health`, { headers: { host } });
    const body = await sample.body.text();
    if (sample.statusCode !== 200) throw new Error(`drainwatch answered ${sample.statusCode} for ${host}: ${body}`);
    const headers = Object.fromEntries(Object.entries(sample.headers).filter(([name]) => name === 'content-type' || name.startsWith('x-') || name === 'cache-control').map(([k, v]) => [k, String(v)]));
    const hono = await target(context, { mode: 'hono', nodes: 0, body, headers }, 'http-hono');
    const bare = await target(context, { mode: 'node-http', nodes: 0, body, headers }, 'http-node');
    const dwRounds: Measured[] = [];
    const honoRounds: Measured[] = [];
    const bareRounds: Measured[] = [];
    for (let round = 0; round < rounds; round++) {
      dwRounds.push(await measure(context, dwHealth, healthArgs, warmS));
      await sleep(200);
      honoRounds.push(await measure(context, hono, healthArgs, warmS));
      await sleep(200);
      bareRounds.push(await measure(context, bare, healthArgs, warmS));
      await sleep(200);
    }
    const dw = combine(dwRounds);
    const honoResult = combine(honoRounds);
    const bareResult = combine(bareRounds);
    await Promise.all([dwHealth.stop(), hono.stop(), bare.stop()]);

    context.log('  REST EDS with 1,000 endpoints');
    // EDS needs its own inventory size; a fresh process keeps the health figures independent of it.
    const dwEds = await target(context, { mode: 'drainwatch', nodes: EDS_NODES }, 'eds-drainwatch');
    const edsSample = await request(`http://127.0.0.1:${dwEds.port}/v3/discovery:endpoints`, { method: 'POST', body: EDS_REQUEST, headers: { 'content-type': 'application/json' } });
    const edsBody = await edsSample.body.text();
    if (edsSample.statusCode !== 200) throw new Error(`EDS answered ${edsSample.statusCode}: ${edsBody.slice(0, 200)}`);
    const endpoints = (edsBody.match(/"health_status"/g) ?? []).length;
    const edsArgs = { path: '/v3/discovery:endpoints', method: 'POST' as const, body: EDS_REQUEST, headers: { 'content-type': 'application/json' }, connections: EDS_CONNECTIONS, durationS };
    const dwEdsResult = await measure(context, dwEds, edsArgs, warmS);
    await dwEds.stop();

    const bareEds = await target(context, { mode: 'node-http', nodes: 0, body: edsBody, headers: { 'content-type': 'application/json' } }, 'eds-node');
    const bareEdsResult = await measure(context, bareEds, edsArgs, warmS);
    await bareEds.stop();

    const perK = (r: { serverCpuS: number; total: number }) => (r.total > 0 ? (r.serverCpuS / r.total) * 1000 : Number.NaN);
    const honoRatio = ratio(dw.requestsPerS, honoResult.requestsPerS);
    const rows: ResultRow[] = [
      { scenario: 'envoy health', measure: `requests/s (median of ${rounds})`, drainwatch: dw.requestsPerS, baselineName: 'bare hono', baseline: honoResult.requestsPerS, ratio: honoRatio, target: '≥ 0.8 × bare hono', hit: (honoRatio ?? 0) >= 0.8 },
      { scenario: 'envoy health', measure: `requests/s (median of ${rounds})`, drainwatch: dw.requestsPerS, baselineName: 'bare node:http', baseline: bareResult.requestsPerS, ratio: ratio(dw.requestsPerS, bareResult.requestsPerS) },
      { scenario: 'envoy health', measure: 'latency p99', unit: 'ms', drainwatch: dw.p99Ms, baselineName: 'bare hono', baseline: honoResult.p99Ms, ratio: ratio(dw.p99Ms, honoResult.p99Ms) },
      { scenario: 'envoy health', measure: 'server CPU per 1,000 requests', unit: 's', drainwatch: perK(dw), baselineName: 'bare hono', baseline: perK(honoResult), ratio: ratio(perK(dw), perK(honoResult)), digits: 3 },
      { scenario: 'envoy EDS', measure: `responses/s, ${endpoints} endpoints`, drainwatch: dwEdsResult.requestsPerS, baselineName: 'node:http, pre-rendered body', baseline: bareEdsResult.requestsPerS, ratio: ratio(dwEdsResult.requestsPerS, bareEdsResult.requestsPerS) },
      { scenario: 'envoy EDS', measure: 'latency p99', unit: 'ms', drainwatch: dwEdsResult.p99Ms, baseline: bareEdsResult.p99Ms, ratio: ratio(dwEdsResult.p99Ms, bareEdsResult.p99Ms) },
    ];
    const bad = [dw, dwEdsResult, honoResult, bareResult, bareEdsResult].map((r) => `${r.non2xx}/${r.errors}`).join(', ');
    return {
      rows,
      notes: [
        `envoy: servers pinned to core ${context.measuredCore}, autocannon (separate process) on core ${context.loadCore}; /envoy/health: ${rounds} interleaved round(s) per server (drainwatch, hono, node:http), ${roundS} s each after a ${warmS} s warm-up, figures are the medians of the rounds (rates per round: drainwatch ${dwRounds.map((r) => fmt(r.requestsPerS, 0)).join(' / ')}, hono ${honoRounds.map((r) => fmt(r.requestsPerS, 0)).join(' / ')}, node:http ${bareRounds.map((r) => fmt(r.requestsPerS, 0)).join(' / ')}); ${CONNECTIONS} keep-alive connections, Host: ${host}, drainwatch's inventory ${HEALTH_NODES} ready nodes; the bare servers answer drainwatch's exact body and headers (${body.length} bytes). EDS: ${EDS_CONNECTIONS} connections POSTing a DiscoveryRequest with an empty version_info (so every answer is a full ${fmt(edsBody.length / 1024)} KiB response, never a 304); baseline = node:http answering the same bytes pre-rendered.`,
        `envoy: non-2xx/errors (drainwatch health, drainwatch EDS, hono, node:http, node:http EDS): ${bad}. Load generator CPU: ${fmt((dw.loadCpuS / (roundS * rounds)) * 100, 0)} % of a core during drainwatch's health runs, ${fmt((honoResult.loadCpuS / (roundS * rounds)) * 100, 0)} % during bare hono's, ${fmt((bareResult.loadCpuS / (roundS * rounds)) * 100, 0)} % during node:http's (near 100 % means the generator set the ceiling).`,
      ],
    };
  },
};
