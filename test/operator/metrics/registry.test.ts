// GET /metrics: valid Prometheus text, every family the operator issue names, live per-node state series.

import { createRequire } from 'node:module';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/operator/metrics/registry.js';
import { waitFor } from '../../helpers/service.js';
import { startSimulator, watch } from '../fleet.js';

type Sample = { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string };
type Family = { name: string; help: string; type: string; metrics: Sample[] };
// parse-prometheus-text-format ships no types; it throws on malformed exposition text.
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const REQUIRED_FAMILIES = [
  'drainwatch_node_state',
  'drainwatch_node_weight',
  'drainwatch_node_load_ratio',
  'drainwatch_node_verdict_age_seconds',
  'drainwatch_probe_duration_seconds',
  'drainwatch_probe_failures_total',
  'drainwatch_state_transitions_total',
  'drainwatch_guard_active',
  'drainwatch_haproxy_agent_requests_total',
  'drainwatch_envoy_eds_requests_total',
  'drainwatch_envoy_health_requests_total',
  'drainwatch_nginx_renders_total',
  'drainwatch_nginx_reloads_total',
  'drainwatch_management_polls_total',
  'drainwatch_config_reloads_total',
  'drainwatch_config_last_reload_success_timestamp_seconds',
  'drainwatch_override_requests_total',
  'drainwatch_overrides_active',
  'drainwatch_process_cpu_seconds_total',
  'drainwatch_process_resident_memory_bytes',
];

async function scrape(url: string): Promise<{ text: string; families: Map<string, Family>; contentType: string | null }> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const families = new Map(parsePrometheus(text).map((family) => [family.name, family]));
  return { text, families, contentType: response.headers.get('content-type') };
}

function stateSeries(family: Family | undefined, node: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sample of family?.metrics ?? []) if (sample.labels?.node === node) out[sample.labels.state as string] = sample.value as string;
  return out;
}

describe('GET /metrics', () => {
  it('is valid Prometheus text format with HELP and TYPE for every family and lists the families operators alert on', async () => {
    const sim = await startSimulator(3);
    const svc = await watch(sim, { service: { metrics: new Metrics() } });
    const { text, families, contentType } = await scrape(svc.url);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    for (const name of REQUIRED_FAMILIES) expect(families.has(name), `family ${name} is exported`).toBe(true);
    // Every family announced with # HELP and # TYPE, and all names carry the drainwatch_ prefix.
    const helps = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
    const types = new Set([...text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/gm)].map((m) => m[1]));
    for (const name of families.keys()) {
      expect(name.startsWith('drainwatch_'), `${name} has the drainwatch_ prefix`).toBe(true);
      expect(helps.has(name), `${name} has # HELP`).toBe(true);
      expect(types.has(name), `${name} has # TYPE`).toBe(true);
    }
    expect(families.get('drainwatch_probe_duration_seconds')?.type).toBe('HISTOGRAM');
    // One series per node and state; exactly one of them is 1.
    for (const node of sim.nodes()) {
      const series = stateSeries(families.get('drainwatch_node_state'), node.name);
      expect(Object.keys(series).sort()).toEqual(['down', 'draining', 'maint', 'ready', 'unknown']);
      expect(Object.values(series).filter((value) => value === '1')).toHaveLength(1);
    }
  });

  it('uses only bounded label sets: no free-text reasons or addresses as label values', async () => {
    const sim = await startSimulator(2);
    const svc = await watch(sim);
    await sim.setPhase('px02', 'maintenance', 'Free text reason that must not become a label');
    await waitFor(async () => (await scrape(svc.url)).text.includes('drainwatch_node_state{node="px02",state="draining"} 1'), 5000);
    const { families } = await scrape(svc.url);
    const allowed = new Set(['node', 'state', 'reason', 'outcome', 'from', 'to', 'result', 'code', 'upstream', 'kind', 'method', 'le', 'version', 'node_version', 'space', 'type', 'major', 'minor', 'patch']);
    for (const family of families.values()) {
      for (const sample of family.metrics) {
        for (const [label, value] of Object.entries(sample.labels ?? {})) {
          expect(allowed.has(label), `${family.name} label ${label}`).toBe(true);
          expect(value).not.toMatch(/Free text|\s/);
        }
      }
    }
  });

  it('shows a node going into maintenance in its drainwatch_node_state series at the next scrape', async () => {
    const sim = await startSimulator(3);
    const svc = await watch(sim);
    const before = stateSeries((await scrape(svc.url)).families.get('drainwatch_node_state'), 'px02');
    expect(before).toMatchObject({ ready: '1', draining: '0' });

    await sim.setPhase('px02', 'maintenance', 'Software upgrade');
    // Wait for the verdict (the probe interval), then one scrape must already show it.
    await waitFor(async () => (await fetch(`${svc.url}/api/v1/nodes/px02`).then((r) => r.json()) as { state: string }).state === 'draining', 5000);
    const after = stateSeries((await scrape(svc.url)).families.get('drainwatch_node_state'), 'px02');
    expect(after).toMatchObject({ ready: '0', draining: '1' });
    const transitions = (await scrape(svc.url)).families.get('drainwatch_state_transitions_total');
    expect(transitions?.metrics.some((s) => s.labels?.from === 'ready' && s.labels?.to === 'draining' && Number(s.value) >= 1)).toBe(true);
    // The other nodes are untouched.
    expect(stateSeries((await scrape(svc.url)).families.get('drainwatch_node_state'), 'px01')).toMatchObject({ ready: '1' });
  });

  it('never triggers a probe: scraping many times does not add status requests', async () => {
    const sim = await startSimulator(1);
    const svc = await watch(sim, { config: { probe: { interval: '2s', timeout: '500ms', max_age: '5s' } } });
    const before = sim.probeRequests('px01');
    for (let i = 0; i < 20; i += 1) await scrape(svc.url);
    // At most one scheduled probe can fall into this window; 20 scrapes would show 20.
    expect(sim.probeRequests('px01') - before).toBeLessThanOrEqual(1);
  });
});

describe('per-probe metrics', () => {
  it('are counted locally per probe and scrape as the same text prom-client would write for the same observations', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const plain = new Registry();
    const duration = new Histogram({ name: 'drainwatch_probe_duration_seconds', help: 'h', labelNames: ['outcome'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [plain] });
    const results = new Counter({ name: 'drainwatch_probe_results_total', help: 'h', labelNames: ['reason'], registers: [plain] });
    const failures = new Counter({ name: 'drainwatch_probe_failures_total', help: 'h', labelNames: ['reason'], registers: [plain] });
    const lateness = new Histogram({ name: 'drainwatch_probe_schedule_lateness_seconds', help: 'h', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: [plain] });
    const samples = (text: string, name: string) => text.split('\n').filter((line) => line.startsWith(name)).sort();
    const compare = async () => {
      const [ours, theirs] = [await metrics.registry.metrics(), await plain.metrics()];
      for (const name of ['drainwatch_probe_duration_seconds', 'drainwatch_probe_results_total', 'drainwatch_probe_failures_total', 'drainwatch_probe_schedule_lateness_seconds']) {
        // Sums are added per scrape here, per probe there: compare them to the nanosecond.
        const round = (lines: string[]) => lines.map((line) => line.replace(/ (\S+)$/, (_, v: string) => ` ${Number(v).toFixed(9)}`));
        expect(round(samples(ours, name)), name).toEqual(round(samples(theirs, name)));
      }
    };
    await compare();
    const probes = [
      { outcome: 'available', reason: 'ok', latencyMs: 0.4 },
      { outcome: 'available', reason: 'ok', latencyMs: 1 },
      { outcome: 'maintenance', reason: 'maintenance', latencyMs: 3.2 },
      { outcome: 'failure', reason: 'timeout', latencyMs: 800 },
      { outcome: 'failure', reason: 'refused', latencyMs: 9000 },
    ] as const;
    for (const [round, late] of [[0, 0.0004], [1, 2]] as const) {
      for (const probe of probes.slice(round)) {
        metrics.observeProbe({ ...probe, status: null, detail: '', at: 0 });
        duration.observe({ outcome: probe.outcome }, probe.latencyMs / 1000);
        results.inc({ reason: probe.reason });
        if (probe.outcome === 'failure') failures.inc({ reason: probe.reason });
        metrics.probeLateness.observe(late);
        lateness.observe(late);
      }
      await compare();
    }
  });
});
