// Benchmark worker: drainwatch (a real Service), a bare undici request() loop or the raw node:net/node:tls floor, measured in place.

import { subscribe } from 'node:diagnostics_channel';
import { tmpdir } from 'node:os';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { loadConfigText } from '../../../src/config/load.js';
import { Service } from '../../../src/service/service.js';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import type { SchedulerOptions } from '../../../src/sources/probe/scheduler.js';
import type { FleetNode } from '../lib/nginx-fleet.js';
import { startRawProber } from '../lib/raw-prober.js';
import { startDispatchProber } from '../lib/dispatch-prober.js';
import { selfUsage, serve } from '../lib/rpc.js';
import { MsHistogram } from '../lib/stats.js';

export type ProberMode = 'drainwatch' | 'undici' | 'raw' | 'dispatch';

export type ProberStartArgs = {
  mode: ProberMode;
  nodes: FleetNode[];
  intervalMs: number;
  timeoutMs: number;
  concurrency: number;
  /** HTTPS: the CA file (and its text) every prober verifies the fleet's certificate with, and the servername. */
  tls: { caFile: string; ca: string; servername: string } | null;
  /** drainwatch only: run its default front-ends (agent, HTTP API, Envoy, NGINX) as the product does. */
  frontends: boolean;
};

export type ProberWindow = {
  probes: number;
  failures: number;
  seconds: number;
  cpuS: number;
  latenessP50: number;
  latenessP99: number;
  latenessMax: number;
  peakRssBytes: number;
  rssBytes: number;
  connects: number;
  /** The most frequent failure reasons in the window, with counts. */
  failureReasons: Record<string, number>;
};

const lateness = new MsHistogram();
let probes = 0;
let failures = 0;
const failureReasons = new Map<string, number>();
/** New TCP connections opened by undici in the window: keep-alive should make these rare after the first sweep. */
let connects = 0;
subscribe('undici:client:connected', () => {
  connects += 1;
});
let windowStart = { at: 0, cpuS: 0 };
let stop: () => Promise<void> = async () => undefined;

async function startDrainwatch(args: ProberStartArgs): Promise<void> {
  const config = {
    nodes: args.nodes.map((node) => ({ name: node.name, address: node.address, port: node.port, status_url: node.statusUrl })),
    probe: {
      interval: `${args.intervalMs}ms`,
      timeout: `${args.timeoutMs}ms`,
      concurrency: args.concurrency,
      ...(args.tls ? { tls: { ca_file: args.tls.caFile, servername: args.tls.servername } } : {}),
    },
    http: { listen: '127.0.0.1:0' },
    haproxy: { agent: args.frontends ? { listen: '127.0.0.1:0' } : null },
    log: { level: 'silent' },
  };
  const loaded = loadConfigText(stringify(config), { baseDir: tmpdir(), env: {} }, 'bench prober config');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const service = await Service.start(loaded, { ...(args.frontends ? {} : { frontends: [] }), metrics: new Metrics({ processMetrics: false }) });
  // The scheduler is private to Service; wrap its hooks (before its first timer fires) so the
  // exact production wiring is what gets measured, plus our counters.
  const scheduler = (service as unknown as { scheduler?: { options?: SchedulerOptions } }).scheduler;
  const options = scheduler?.options;
  if (!scheduler || !options?.onResult) throw new Error('Service no longer has scheduler.options; update test/bench/workers/prober.ts');
  const { onStart, onResult } = options;
  scheduler.options = {
    ...options,
    onStart: (node, latenessMs) => {
      lateness.add(latenessMs);
      onStart?.(node, latenessMs);
    },
    onResult: (node, observation) => {
      probes += 1;
      if (observation.outcome === 'failure') {
        failures += 1;
        const key = `${observation.reason}: ${observation.detail.slice(0, 60)}`;
        failureReasons.set(key, (failureReasons.get(key) ?? 0) + 1);
      }
      onResult(node, observation);
    },
  };
  stop = async () => {
    await service.close(2000);
  };
}

/** The baseline: one keep-alive GET per node per interval, starts spread evenly, no scheduler, no state. */
async function startUndici(args: ProberStartArgs): Promise<void> {
  const connect = { timeout: args.timeoutMs, ...(args.tls ? { ca: args.tls.ca, servername: args.tls.servername } : {}) };
  const agent = new Agent({ connections: 1, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000, headersTimeout: args.timeoutMs, bodyTimeout: args.timeoutMs, connect });
  let running = true;
  const timers = new Set<NodeJS.Timeout>();
  const schedule = (url: string, due: number): void => {
    if (!running) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void run(url, due);
    }, Math.max(0, due - Date.now()));
    timers.add(timer);
  };
  const run = async (url: string, due: number): Promise<void> => {
    const started = Date.now();
    lateness.add(started - due);
    try {
      const response = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(args.timeoutMs), headers: { accept: 'application/json', 'user-agent': 'bench' } });
      await response.body.dump();
      if (response.statusCode !== 200 && response.statusCode !== 503) failures += 1;
    } catch (error) {
      failures += 1;
      const key = (error as Error).name === 'TimeoutError' ? `timeout (${args.timeoutMs} ms)` : String((error as { code?: string }).code ?? (error as Error).name);
      failureReasons.set(key, (failureReasons.get(key) ?? 0) + 1);
    }
    probes += 1;
    schedule(url, Math.max(Date.now(), started + args.intervalMs));
  };
  // Open every keep-alive connection first, 64 at a time (a TLS handshake costs Node 1-3 ms of
  // CPU), so the measured loop starts in its steady state rather than in a herd of handshakes.
  let next = 0;
  const warm = async (): Promise<void> => {
    while (next < args.nodes.length) {
      const url = (args.nodes[next++] as FleetNode).statusUrl;
      await request(url, { dispatcher: agent, signal: AbortSignal.timeout(10_000) }).then((response) => response.body.dump(), () => undefined);
    }
  };
  await Promise.all(Array.from({ length: 64 }, warm));
  const now = Date.now();
  args.nodes.forEach((node, i) => schedule(node.statusUrl, now + (i / args.nodes.length) * args.intervalMs));
  stop = async () => {
    running = false;
    for (const timer of timers) clearTimeout(timer);
    await agent.destroy();
  };
}

/** The floors: raw keep-alive sockets (test/bench/lib/raw-prober.ts), or undici dispatch() with a minimal handler (lib/dispatch-prober.ts), same schedule. */
async function startRaw(args: ProberStartArgs): Promise<void> {
  const halt = await (args.mode === 'dispatch' ? startDispatchProber : startRawProber)({
    nodes: args.nodes,
    intervalMs: args.intervalMs,
    timeoutMs: args.timeoutMs,
    tls: args.tls ? { ca: args.tls.ca, servername: args.tls.servername } : null,
    onStart: (latenessMs) => lateness.add(latenessMs),
    onEnd: (status, reason) => {
      probes += 1;
      if (status === 200 || status === 503) return;
      failures += 1;
      const key = status === 0 ? reason : `HTTP ${status}`;
      failureReasons.set(key, (failureReasons.get(key) ?? 0) + 1);
    },
    onConnect: () => (connects += 1),
  });
  stop = async () => halt();
}

serve(
  {
    async start(args: ProberStartArgs) {
      if (args.mode === 'drainwatch') await startDrainwatch(args);
      else if (args.mode === 'raw' || args.mode === 'dispatch') await startRaw(args);
      else await startUndici(args);
      return true;
    },
    /** Starts a measurement window: zeroes counters and the lateness histogram. */
    mark() {
      lateness.reset();
      probes = 0;
      failures = 0;
      failureReasons.clear();
      connects = 0;
      windowStart = { at: performance.now(), cpuS: selfUsage().cpuS };
      return true;
    },
    /** Figures since the last mark. */
    report(): ProberWindow {
      const usage = selfUsage();
      return {
        probes,
        failures,
        seconds: (performance.now() - windowStart.at) / 1000,
        cpuS: usage.cpuS - windowStart.cpuS,
        latenessP50: lateness.percentile(50),
        latenessP99: lateness.percentile(99),
        latenessMax: lateness.max,
        peakRssBytes: usage.peakRssBytes,
        rssBytes: usage.rssBytes,
        connects,
        failureReasons: Object.fromEntries([...failureReasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4)),
      };
    },
  },
  () => stop(),
);
