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

  readonly probeDuration = new Histogram({
    name: 'drainwatch_probe_duration_seconds',
    help: 'Time from sending a status probe to its classified result.',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly probeResults = new Counter({
    name: 'drainwatch_probe_results_total',
    help: 'Probe results by stable reason (ok, maintenance, timeout, refused, reset, tls, dns, http_404, ...).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly probeFailures = new Counter({
    name: 'drainwatch_probe_failures_total',
    help: 'Failed probes by stable reason (maintenance answers are not failures).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly probeLateness = new Histogram({
    name: 'drainwatch_probe_schedule_lateness_seconds',
    help: 'How late each probe started versus its scheduled time (queueing behind the concurrency cap, event-loop delay).',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
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

  observeProbe(observation: ProbeObservation): void {
    this.probeDuration.observe({ outcome: observation.outcome }, observation.latencyMs / 1000);
    this.probeResults.inc({ reason: observation.reason });
    if (observation.outcome === 'failure') this.probeFailures.inc({ reason: observation.reason });
  }
}
