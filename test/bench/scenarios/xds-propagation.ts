// Drain propagation to xDS clients: gRPC ADS (pushed, until the client ACKs DRAINING) beside REST EDS polling with refresh_delay 1s.

import * as grpc from '@grpc/grpc-js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { ratio } from '../lib/report.js';
import type { ResultRow, ScenarioResult } from '../lib/report.js';
import { fmt, median, percentile, sleep } from '../lib/stats.js';
import { startWorker } from '../lib/workers.js';
import type { SimNodeInfo } from '../workers/sim.js';
import { decodeMessage, encodeJson } from '../../../src/frontends/envoy/xds/protos.js';

const PROBE_INTERVAL_MS = 1000;
const REFRESH_DELAY_MS = 1000;
const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const MODES = ['grpc', 'rest'] as const;
type Mode = (typeof MODES)[number];

type LbEndpoint = { endpoint: { hostname: string }; health_status: string };
type Assignment = { endpoints: { lb_endpoints: LbEndpoint[] }[] };

/** name → health_status of one assignment. */
function statusesOf(assignment: Assignment | undefined): Map<string, string> {
  const statuses = new Map<string, string>();
  for (const group of assignment?.endpoints ?? []) for (const lb of group.lb_endpoints) statuses.set(lb.endpoint.hostname, lb.health_status);
  return statuses;
}

/** An ADS client as Envoy and gRPC run it: subscribe to EDS, ACK every response at once, report what each carried. */
function adsClient(port: number, onUpdate: (statuses: Map<string, string>, at: number) => void): () => void {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    ADS_PATH,
    (request: object) => Buffer.from(encodeJson('envoy.service.discovery.v3.DiscoveryRequest', request)),
    (bytes: Buffer) => decodeMessage<{ version_info: string; nonce: string; resources: { value: Uint8Array }[] }>('envoy.service.discovery.v3.DiscoveryResponse', bytes),
  );
  const request = { node: { id: 'bench-grpc' }, resource_names: ['pexip'], type_url: EDS };
  call.on('data', (response: { version_info: string; nonce: string; resources: { value: Uint8Array }[] }) => {
    const assignment = response.resources[0] ? decodeMessage<Assignment>('envoy.config.endpoint.v3.ClusterLoadAssignment', response.resources[0].value) : undefined;
    call.write({ ...request, version_info: response.version_info, response_nonce: response.nonce });
    onUpdate(statusesOf(assignment), Date.now());
  });
  call.on('error', () => undefined);
  call.write(request);
  return () => {
    call.cancel();
    client.close();
  };
}

/** Envoy's REST fetcher: POST, then wait refresh_delay + random(0, refresh_delay) after each answer (rest_api_fetcher.cc). */
function restPoller(port: number, onUpdate: (statuses: Map<string, string>, at: number) => void): () => void {
  let stopped = false;
  let version = '';
  void (async () => {
    while (!stopped) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/v3/discovery:endpoints`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ version_info: version, node: { id: 'bench-rest' }, resource_names: ['pexip'], type_url: EDS }),
        });
        if (response.status === 200) {
          const body = (await response.json()) as { version_info: string; resources: Assignment[] };
          version = body.version_info;
          onUpdate(statusesOf(body.resources[0]), Date.now());
        } else await response.body?.cancel();
      } catch {
        // drainwatch stopping: the loop ends with `stopped`
      }
      await sleep(REFRESH_DELAY_MS + Math.random() * REFRESH_DELAY_MS);
    }
  })();
  return () => {
    stopped = true;
  };
}

export const xdsPropagation: Scenario = {
  name: 'xds-propagation',
  title: 'Drain propagation to xDS clients: gRPC ADS push vs REST EDS polling (refresh_delay 1s)',
  budgetMs: 150_000,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const nodeCount = context.short ? 12 : 40;
    const rounds = context.short ? 1 : 2;
    const spreadMs = context.short ? 3000 : 8000;

    const sim = await startWorker('sim', { core: context.loadCore, label: 'sim' });
    context.defer(() => sim.stop());
    const nodes = await sim.call<SimNodeInfo[]>('start', { count: nodeCount, width: 3 });
    const names = nodes.map((node) => node.name);
    const dw = await startWorker('service', { core: context.measuredCore, profile: true, label: 'xds-drainwatch' });
    context.defer(() => dw.stop());
    const { httpPort, grpcPort } = await dw.call<{ httpPort: number; grpcPort: number }>('start', {
      config: {
        nodes: nodes.map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl })),
        probe: { interval: `${PROBE_INTERVAL_MS}ms` },
        http: { listen: '127.0.0.1:0' },
        haproxy: { agent: null },
        envoy: { grpc: { listen: '127.0.0.1:0' } },
      },
    });
    if (!grpcPort) throw new Error('the service did not start the gRPC xDS front-end');

    // What each client holds now, and when each first saw each node DRAINING this round.
    const held: Record<Mode, Map<string, string>> = { grpc: new Map(), rest: new Map() };
    let seen: Record<Mode, Map<string, number>> = { grpc: new Map(), rest: new Map() };
    const update = (mode: Mode) => (statuses: Map<string, string>, at: number) => {
      held[mode] = statuses;
      for (const [name, status] of statuses) if (status === 'DRAINING' && !seen[mode].has(name)) seen[mode].set(name, at);
    };
    context.defer(adsClient(grpcPort, update('grpc')));
    context.defer(restPoller(httpPort, update('rest')));
    const everywhere = async (status: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (MODES.every((mode) => names.every((name) => held[mode].get(name) === status))) return true;
        await sleep(20);
      }
      return false;
    };
    if (!(await everywhere('HEALTHY', 20_000))) throw new Error('both clients did not see every node HEALTHY within 20 s');

    const samples: Record<Mode, number[]> = { grpc: [], rest: [] };
    let missed = 0;
    context.log(`  ${nodeCount} nodes x ${rounds} round(s): flips spread over ${spreadMs / 1000} s; one ADS stream and one REST poller`);
    for (let round = 0; round < rounds; round += 1) {
      seen = { grpc: new Map(), rest: new Map() };
      const flippedAt = new Map<string, number>();
      await Promise.all(names.map(async (name) => {
        await sleep(Math.random() * spreadMs);
        flippedAt.set(name, await sim.call<number>('setPhase', { name, phase: 'maintenance' }));
      }));
      await everywhere('DRAINING', 3 * REFRESH_DELAY_MS + 2 * PROBE_INTERVAL_MS + 2000);
      for (const mode of MODES) {
        for (const name of names) {
          const at = seen[mode].get(name);
          if (at === undefined) missed += 1;
          else samples[mode].push(at - (flippedAt.get(name) as number));
        }
      }
      await Promise.all(names.map((name) => sim.call('setPhase', { name, phase: 'up' })));
      if (!(await everywhere('HEALTHY', 20_000))) throw new Error(`round ${round + 1}: nodes did not come back HEALTHY in both clients within 20 s`);
    }

    const bound = PROBE_INTERVAL_MS + 100;
    const p99 = (mode: Mode) => percentile(samples[mode], 99);
    const baselineName = `REST EDS, refresh_delay ${REFRESH_DELAY_MS / 1000}s`;
    const rows: ResultRow[] = [
      { scenario: 'xds-propagation', measure: 'gRPC ADS, flip → client ACK of DRAINING, median', unit: 'ms', drainwatch: median(samples.grpc), baselineName, baseline: median(samples.rest), ratio: ratio(median(samples.grpc), median(samples.rest)) },
      { scenario: 'xds-propagation', measure: 'gRPC ADS, flip → client ACK of DRAINING, p99', unit: 'ms', drainwatch: p99('grpc'), baselineName, baseline: p99('rest'), ratio: ratio(p99('grpc'), p99('rest')), target: `≤ ${bound} ms`, hit: p99('grpc') <= bound },
    ];
    return {
      rows,
      notes: [
        `xds-propagation: a full Service over ${nodeCount} simulated nodes, probe interval ${PROBE_INTERVAL_MS} ms (jitter 0.1), pinned to core ${context.measuredCore}; in the harness process one ADS stream (EDS for "pexip", each response ACKed as soon as it is decoded, as Envoy and gRPC do) and one REST poller behaving like Envoy's REST fetcher (next POST refresh_delay + random(0, refresh_delay) after each answer, version_info carried so unchanged answers are 304).`,
        `xds-propagation: time from the simulator flipping a node to 503 (its clock, after the change) until the client holds DRAINING for it (gRPC: the response it ACKs; REST: the 200 that carries it); ${samples.grpc.length} gRPC and ${samples.rest.length} REST samples over ${rounds} round(s) of ${nodeCount} flips at random moments; ${missed} not seen. max: gRPC ${fmt(Math.max(...samples.grpc))} ms, REST ${fmt(Math.max(...samples.rest))} ms.`,
      ],
    };
  },
};
