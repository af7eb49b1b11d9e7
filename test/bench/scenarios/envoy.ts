// Envoy front door: /envoy/health vs a bare hono route and a bare node:http handler; REST EDS with 1,000 endpoints.

import { request } from 'undici';
import type { BenchContext, Scenario } from '../lib/context.js';
import { ratio } from '../lib/report.js';
import type { ResultRow, ScenarioResult } from '../lib/report.js';
import { fmt, sleep } from '../lib/stats.js';
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

async function measure(context: BenchContext, server: Target, args: Omit<HttpLoadArgs, 'url'> & { path: string }, warmS: number): Promise<HttpLoadResult & { serverCpuS: number }> {
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
    const warmS = 1;
    const host = benchNode(0).name;
    const healthArgs = { path: '/envoy/health', headers: { host }, connections: CONNECTIONS, durationS };

    context.log(`  /envoy/health: ${durationS} s each, ${CONNECTIONS} keep-alive connections, Host: ${host}`);
    const dwHealth = await target(context, { mode: 'drainwatch', nodes: HEALTH_NODES }, 'http-drainwatch');
    const sample = await request(`http://127.0.0.1:${dwHealth.port}/envoy/health`, { headers: { host } });
    const body = await sample.body.text();
    if (sample.statusCode !== 200) throw new Error(`drainwatch answered ${sample.statusCode} for ${host}: ${body}`);
    const headers = Object.fromEntries(Object.entries(sample.headers).filter(([name]) => name === 'content-type' || name.startsWith('x-') || name === 'cache-control').map(([k, v]) => [k, String(v)]));
    const dw = await measure(context, dwHealth, healthArgs, warmS);

    context.log('  REST EDS on the same drainwatch process with 1,000 endpoints');
    // EDS needs its own inventory size; a fresh process keeps the health figures independent of it.
    await dwHealth.stop();
    const dwEds = await target(context, { mode: 'drainwatch', nodes: EDS_NODES }, 'eds-drainwatch');
    const edsSample = await request(`http://127.0.0.1:${dwEds.port}/v3/discovery:endpoints`, { method: 'POST', body: EDS_REQUEST, headers: { 'content-type': 'application/json' } });
    const edsBody = await edsSample.body.text();
    if (edsSample.statusCode !== 200) throw new Error(`EDS answered ${edsSample.statusCode}: ${edsBody.slice(0, 200)}`);
    const endpoints = (edsBody.match(/"health_status"/g) ?? []).length;
    const edsArgs = { path: '/v3/discovery:endpoints', method: 'POST' as const, body: EDS_REQUEST, headers: { 'content-type': 'application/json' }, connections: EDS_CONNECTIONS, durationS };
    const dwEdsResult = await measure(context, dwEds, edsArgs, warmS);
    await dwEds.stop();

    context.log('  bare hono route and bare node:http handler (same body and headers)');
    const hono = await target(context, { mode: 'hono', nodes: 0, body, headers }, 'http-hono');
    const honoResult = await measure(context, hono, healthArgs, warmS);
    await hono.stop();
    await sleep(200);
    const bare = await target(context, { mode: 'node-http', nodes: 0, body, headers }, 'http-node');
    const bareResult = await measure(context, bare, healthArgs, warmS);
    await bare.stop();
    const bareEds = await target(context, { mode: 'node-http', nodes: 0, body: edsBody, headers: { 'content-type': 'application/json' } }, 'eds-node');
    const bareEdsResult = await measure(context, bareEds, edsArgs, warmS);
    await bareEds.stop();

    const perK = (r: { serverCpuS: number; total: number }) => (r.total > 0 ? (r.serverCpuS / r.total) * 1000 : Number.NaN);
    const honoRatio = ratio(dw.requestsPerS, honoResult.requestsPerS);
    const rows: ResultRow[] = [
      { scenario: 'envoy health', measure: 'requests/s', drainwatch: dw.requestsPerS, baselineName: 'bare hono', baseline: honoResult.requestsPerS, ratio: honoRatio, target: '≥ 0.8 × bare hono', hit: (honoRatio ?? 0) >= 0.8 },
      { scenario: 'envoy health', measure: 'requests/s', drainwatch: dw.requestsPerS, baselineName: 'bare node:http', baseline: bareResult.requestsPerS, ratio: ratio(dw.requestsPerS, bareResult.requestsPerS) },
      { scenario: 'envoy health', measure: 'latency p99', unit: 'ms', drainwatch: dw.p99Ms, baselineName: 'bare hono', baseline: honoResult.p99Ms, ratio: ratio(dw.p99Ms, honoResult.p99Ms) },
      { scenario: 'envoy health', measure: 'server CPU per 1,000 requests', unit: 's', drainwatch: perK(dw), baselineName: 'bare hono', baseline: perK(honoResult), ratio: ratio(perK(dw), perK(honoResult)), digits: 3 },
      { scenario: 'envoy EDS', measure: `responses/s, ${endpoints} endpoints`, drainwatch: dwEdsResult.requestsPerS, baselineName: 'node:http, pre-rendered body', baseline: bareEdsResult.requestsPerS, ratio: ratio(dwEdsResult.requestsPerS, bareEdsResult.requestsPerS) },
      { scenario: 'envoy EDS', measure: 'latency p99', unit: 'ms', drainwatch: dwEdsResult.p99Ms, baseline: bareEdsResult.p99Ms, ratio: ratio(dwEdsResult.p99Ms, bareEdsResult.p99Ms) },
    ];
    const bad = [dw, dwEdsResult, honoResult, bareResult, bareEdsResult].map((r) => `${r.non2xx}/${r.errors}`).join(', ');
    return {
      rows,
      notes: [
        `envoy: servers pinned to core ${context.measuredCore}, autocannon (separate process) on core ${context.loadCore}; ${durationS} s per figure after a ${warmS} s warm-up. /envoy/health: ${CONNECTIONS} keep-alive connections, Host: ${host}, drainwatch's inventory ${HEALTH_NODES} ready nodes; the bare servers answer drainwatch's exact body and headers (${body.length} bytes). EDS: ${EDS_CONNECTIONS} connections POSTing a DiscoveryRequest with an empty version_info (so every answer is a full ${fmt(edsBody.length / 1024)} KiB response, never a 304); baseline = node:http answering the same bytes pre-rendered.`,
        `envoy: non-2xx/errors (drainwatch health, drainwatch EDS, hono, node:http, node:http EDS): ${bad}. Load generator CPU: ${fmt((dw.loadCpuS / durationS) * 100, 0)} % of a core during drainwatch's health run, ${fmt((honoResult.loadCpuS / durationS) * 100, 0)} % during bare hono's, ${fmt((bareResult.loadCpuS / durationS) * 100, 0)} % during node:http's (near 100 % means the generator set the ceiling).`,
      ],
    };
  },
};
