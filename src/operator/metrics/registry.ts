// Prometheus metrics: one long-lived registry; per-node gauges read the snapshot at scrape time.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerBuildInfo, registerProcessMetrics } from './process.js';
import { verdictAgeMs } from '../../core/snapshot.js';
import type { SnapshotSource } from '../../core/snapshot.js';
import type { NodeState, ProbeObservation } from '../../core/verdict.js';

const STATES: readonly NodeState[] = ['ready', 'draining', 'maint', 'down', 'unknown'];

export type MetricsOptions = { clock?: () => number; processMetrics?: boolean };

/**
 * Every drainwatch metric family. Front-ends increment the counters and histograms they own
 * directly (`agentRequests`, `edsRequests`, ...) and the service calls `observeProbe` per probe result;
 * per-node gauges are computed from the snapshot on each scrape (a scrape never probes).
 *
 * @example
 * const metrics = new Metrics();
 * metrics.bind(core);
 * const text = await metrics.registry.metrics();
 */
export class Metrics {
  readonly registry = new Registry();
  private source: SnapshotSource | null = null;
  private readonly clock: () => number;

  readonly probeDuration = new TalliedHistogram({
    name: 'drainwatch_probe_duration_seconds',
    help: 'Time from sending a status probe to its classified result.',
    labelName: 'outcome',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly probeResults = new Counter({
    name: 'drainwatch_probe_results_total',
    help: 'Probe results by stable reason (ok, maintenance, timeout, refused, reset, tls, dns, http_404, ...).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
    collect: () => this.flushReasons('results'),
  });
  readonly probeFailures = new Counter({
    name: 'drainwatch_probe_failures_total',
    help: 'Failed probes by stable reason (maintenance answers are not failures).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
    collect: () => this.flushReasons('failures'),
  });
  /** Fed by the scheduler's onStart hook for every probe: `probeLateness.observe(seconds)`. */
  readonly probeLateness = new TalliedHistogram({
    name: 'drainwatch_probe_schedule_lateness_seconds',
    help: 'How late each probe started versus its scheduled time (queueing behind the concurrency cap, event-loop delay).',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  /** Probe results and failures per reason since the last scrape, handed to the two counters by their collect(). */
  private readonly reasons = new Map<string, { results: number; failures: number }>();
  readonly transitions = new Counter({
    name: 'drainwatch_state_transitions_total',
    help: 'Verdict state changes, by previous and new state.',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });
  readonly agentRequests = new Counter({
    name: 'drainwatch_haproxy_agent_requests_total',
    help: 'HAProxy agent-check requests by result (ready, drain, maint, down, unknown, unknown_node, bad_request, timeout, rejected, evicted, not_allowed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly listenerRefusals = new Counter({
    name: 'drainwatch_listener_connections_closed_total',
    help: 'Connections the HTTP listener closed at accept (not_allowed, refused) or to make room under a cap (evicted); the agent counts its own in drainwatch_haproxy_agent_requests_total.',
    labelNames: ['listener', 'reason'] as const,
    registers: [this.registry],
  });
  readonly runtimeApiCommands = new Counter({
    name: 'drainwatch_haproxy_runtime_api_commands_total',
    help: 'Commands sent to HAProxy runtime API sockets (push mode), by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly envoyHealthRequests = new Counter({
    name: 'drainwatch_envoy_health_requests_total',
    help: 'Envoy health-check answers, by HTTP status code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly edsRequests = new Counter({
    name: 'drainwatch_envoy_eds_requests_total',
    help: 'Envoy REST EDS requests, by result (update, unchanged, other_cluster, nack, bad_request).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly xdsRequests = new Counter({
    name: 'drainwatch_envoy_xds_requests_total',
    help: 'xDS DiscoveryRequests on gRPC streams, by resource type (endpoint, cluster, listener, route, other) and result (subscribe, ack, nack, stale, invalid).',
    labelNames: ['type', 'result'] as const,
    registers: [this.registry],
  });
  readonly xdsPushes = new Counter({
    name: 'drainwatch_envoy_xds_responses_total',
    help: 'xDS DiscoveryResponses written to gRPC streams, by resource type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly xdsStreams = new Gauge({
    name: 'drainwatch_envoy_xds_streams',
    help: 'xDS gRPC streams open now (ADS and EDS).',
    registers: [this.registry],
  });
  readonly nginxRenders = new Counter({
    name: 'drainwatch_nginx_renders_total',
    help: 'NGINX upstream renderings, by result (written, unchanged, test_failed, write_failed, restore_failed, empty).',
    labelNames: ['upstream', 'result'] as const,
    registers: [this.registry],
  });
  readonly nginxReloads = new Counter({
    name: 'drainwatch_nginx_reloads_total',
    help: 'NGINX reloads, by result (ok, failed).',
    labelNames: ['upstream', 'result'] as const,
    registers: [this.registry],
  });
  readonly nginxFailOpen = new Gauge({
    name: 'drainwatch_nginx_fail_open',
    help: '1 when no node is ready and the rendering keeps draining/unknown nodes in service so the upstream is not empty.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly managementPolls = new Counter({
    name: 'drainwatch_management_polls_total',
    help: 'Management Node sweeps, by result (ok, auth, http, malformed, network).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly managementWarnings = new Counter({
    name: 'drainwatch_management_warnings_total',
    help: 'Drain-lifecycle warnings, by kind (spacing, capacity).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly configReloads = new Counter({
    name: 'drainwatch_config_reloads_total',
    help: 'Configuration reloads (SIGHUP), by result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly overrideRequests = new Counter({
    name: 'drainwatch_override_requests_total',
    help: 'Override API requests (PUT/DELETE /api/v1/nodes/{name}/override), by method and result (ok, unauthorized, forbidden, bad_request, too_large, not_found).',
    labelNames: ['method', 'result'] as const,
    registers: [this.registry],
  });
  readonly stateFileWrites = new Counter({
    name: 'drainwatch_state_file_writes_total',
    help: 'Writes of the override state file (state.file), by result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly configReloadTime = new Gauge({
    name: 'drainwatch_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last successful configuration load.',
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    this.clock = options.clock ?? Date.now;
    const metrics = this;
    new Gauge({
      name: 'drainwatch_node_state',
      help: 'Current verdict per node: 1 on the series whose state label is the node\'s state.',
      labelNames: ['node', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const node of metrics.source?.snapshot().nodes ?? []) {
          for (const state of STATES) this.set({ node: node.name, state }, node.state === state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'drainwatch_node_weight',
      help: 'Weight (1..100) drainwatch gives each node.',
      labelNames: ['node'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const node of metrics.source?.snapshot().nodes ?? []) this.set({ node: node.name }, node.weight);
      },
    });
    new Gauge({
      name: 'drainwatch_node_load_ratio',
      help: 'Media load per node from the Management Node, 0..1 (absent when unknown).',
      labelNames: ['node'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const node of metrics.source?.snapshot().nodes ?? []) if (node.load !== null) this.set({ node: node.name }, node.load / 100);
      },
    });
    new Gauge({
      name: 'drainwatch_node_verdict_age_seconds',
      help: 'Age of the newest observation behind each node\'s verdict.',
      labelNames: ['node'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = metrics.clock();
        for (const node of metrics.source?.snapshot().nodes ?? []) this.set({ node: node.name }, verdictAgeMs(node, now) / 1000);
      },
    });
    new Gauge({
      name: 'drainwatch_node_calls',
      help: 'Calls still on each node (Management Node media tokens / signalling), absent when unknown.',
      labelNames: ['node'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const node of metrics.source?.snapshot().nodes ?? []) if (node.calls !== null) this.set({ node: node.name }, node.calls);
      },
    });
    new Gauge({
      name: 'drainwatch_guard_active',
      help: '1 while the blast-radius guard holds last verdicts because too many nodes failed at once.',
      registers: [this.registry],
      collect() {
        this.set(metrics.source?.snapshot().guard.active ? 1 : 0);
      },
    });
    new Gauge({
      name: 'drainwatch_overrides_active',
      help: 'Operator overrides in force on nodes of the inventory, by override state (drain, maint, ready).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const counts = { drain: 0, maint: 0, ready: 0 };
        for (const node of metrics.source?.snapshot().nodes ?? []) if (node.override) counts[node.override.state] += 1;
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'drainwatch_snapshot_version',
      help: 'Version number of the current verdict snapshot (increases on every visible change).',
      registers: [this.registry],
      collect() {
        this.set(metrics.source?.snapshot().version ?? 0);
      },
    });
    new Gauge({
      name: 'drainwatch_node_state_since_timestamp_seconds',
      help: 'Unix time each node entered its current state (the verdict\'s since); one series per node, labelled with that state.',
      labelNames: ['node', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const node of metrics.source?.snapshot().nodes ?? []) this.set({ node: node.name, state: node.state }, node.since / 1000);
      },
    });
    registerBuildInfo(this.registry);
    if (options.processMetrics !== false) registerProcessMetrics(this.registry);
  }

  /** Points the per-node gauges at a snapshot source. */
  bind(source: SnapshotSource): void {
    this.source = source;
  }

  /** Counts one probe result: O(1), no allocation once its reason and outcome were seen (prom-client gets the counts at scrape time). */
  observeProbe(observation: ProbeObservation): void {
    this.probeDuration.observe(observation.latencyMs / 1000, observation.outcome);
    let counts = this.reasons.get(observation.reason);
    if (!counts) {
      counts = { results: 0, failures: 0 };
      this.reasons.set(observation.reason, counts);
    }
    counts.results += 1;
    if (observation.outcome === 'failure') counts.failures += 1;
  }

  private flushReasons(kind: 'results' | 'failures'): void {
    const counter = kind === 'results' ? this.probeResults : this.probeFailures;
    for (const [reason, counts] of this.reasons) {
      if (counts[kind] === 0) continue;
      counter.inc({ reason }, counts[kind]);
      counts[kind] = 0;
    }
  }
}

export type TalliedHistogramOptions = {
  name: string;
  help: string;
  /** The one label (absent: an unlabelled histogram). */
  labelName?: string;
  buckets: readonly number[];
  registers: Registry[];
};

/** prom-client's view of one histogram series (its `hashMap` entries; bucket counts are per upper bound, not cumulative). */
type SeriesEntry = { labels: Record<string, string | number>; bucketValues: Record<number, number>; sum: number; count: number };

/**
 * A prom-client histogram whose observations are counted in plain numbers and handed over at
 * scrape time. prom-client hashes the labels on every `observe` (a `.labels()` child does too),
 * which is per-probe work; here a probe costs a map lookup by label value and a bucket search.
 *
 * @example
 * const duration = new TalliedHistogram({ name: 'x_seconds', help: 'X.', labelName: 'outcome', buckets: [0.1, 1], registers: [registry] });
 * duration.observe(0.042, 'available');
 */
export class TalliedHistogram {
  readonly histogram: Histogram<string>;
  private readonly bounds: readonly number[];
  /** Per label value: counts per bucket (index `bounds.length`: above the last bound), sum, count since the last scrape. */
  private readonly pending = new Map<string, { buckets: Float64Array; sum: number; count: number }>();

  constructor(private readonly options: TalliedHistogramOptions) {
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    const tally = this;
    this.histogram = new Histogram({
      name: options.name,
      help: options.help,
      labelNames: options.labelName ? [options.labelName] : [],
      buckets: [...this.bounds],
      registers: options.registers,
      collect() {
        tally.flush();
      },
    });
  }

  /** Counts one value (seconds); `label` is the label's value (ignored when unlabelled). Non-finite values are dropped. */
  observe(value: number, label = ''): void {
    if (!Number.isFinite(value)) return;
    let series = this.pending.get(label);
    if (!series) {
      series = { buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.pending.set(label, series);
    }
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i += 1;
    series.buckets[i] = (series.buckets[i] as number) + 1;
    series.sum += value;
    series.count += 1;
  }

  /** Adds the counts since the last scrape to prom-client's series (creating a series on its first value). */
  private flush(): void {
    const { labelName } = this.options;
    for (const [label, series] of this.pending) {
      if (series.count === 0) continue;
      const labels: Record<string, string> = labelName ? { [labelName]: label } : {};
      let entry = this.entry(label);
      if (!entry) {
        this.histogram.zero(labels);
        entry = this.entry(label);
      }
      if (!entry) throw new Error(`prom-client histogram ${this.options.name} keeps no series for ${JSON.stringify(labels)}`);
      for (let i = 0; i < this.bounds.length; i += 1) {
        const bound = this.bounds[i] as number;
        entry.bucketValues[bound] = (entry.bucketValues[bound] ?? 0) + (series.buckets[i] as number);
      }
      entry.sum += series.sum;
      entry.count += series.count;
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  private entry(label: string): SeriesEntry | undefined {
    const { labelName } = this.options;
    const entries = (this.histogram as unknown as { hashMap: Record<string, SeriesEntry> }).hashMap;
    for (const entry of Object.values(entries)) {
      if (labelName ? String(entry.labels[labelName]) === label : Object.keys(entry.labels).length === 0) return entry;
    }
    return undefined;
  }
}
