// Wires a validated config into a running service: core + prober + front-ends, with reload and graceful close.

import { readFileSync } from 'node:fs';
import { Prober } from '../sources/probe/prober.js';
import { ProbeScheduler } from '../sources/probe/scheduler.js';
import { StateCore } from '../core/state.js';
import { silentLogger } from '../core/logger.js';
import { ManagementPoller, outcomeOf } from '../sources/management/poller.js';
import { MaintenanceWarnings } from '../core/maintenance-warnings.js';
import { WeightSmoother } from '../core/weight-smoothing.js';
import { loadConfigFile } from '../config/load.js';
import { parseListenAddress } from '../config/address.js';
import { createHttpApp, HttpServer } from '../operator/http/server.js';
import { Metrics } from '../operator/metrics/registry.js';
import { createAdminApi } from '../operator/api/nodes.js';
import { createMetricsEndpoint } from '../operator/metrics/endpoint.js';
import { createOverrideApi } from '../operator/api/overrides.js';
import { createDashboard } from '../operator/dashboard/routes.js';
import { createHaproxyAgent } from '../frontends/haproxy/agent-server.js';
import { createHaproxyRuntime } from '../frontends/haproxy/runtime-pusher.js';
import { createEnvoyHealth } from '../frontends/envoy/health-routes.js';
import { createEnvoyEds } from '../frontends/envoy/eds-routes.js';
import { createNginxFrontend } from '../frontends/nginx/index.js';
import type { Hono } from 'hono';
import type { Config } from '../config/schema.js';
import type { LoadedConfig, Secrets } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import type { ManagementObservation, NodeSpec } from '../core/verdict.js';
import type { DrainwatchError } from '../core/errors.js';
import type { PollerStatus, SweepResult } from '../sources/management/poller.js';
import type { ListenAddress } from '../config/address.js';
import type { Frontend, FrontendContext } from '../frontends/frontend.js';

/** Builds one front-end; the list below is the only place front-ends are wired. */
export type FrontendFactory = (context: FrontendContext) => Frontend;

export const DEFAULT_FRONTENDS: readonly FrontendFactory[] = [createAdminApi, createOverrideApi, createMetricsEndpoint, createDashboard, createHaproxyAgent, createHaproxyRuntime, createNginxFrontend, createEnvoyHealth, createEnvoyEds];

export type ServiceOptions = {
  logger?: Logger;
  clock?: () => number;
  frontends?: readonly FrontendFactory[];
  /** Metrics registry to use (tests pass a fresh one; default: new). */
  metrics?: Metrics;
};

/** The static inventory of a config as node specs. */
export function staticNodes(config: Config): NodeSpec[] {
  return config.nodes.map((node) => ({
    name: node.name,
    address: node.address,
    port: node.port,
    statusUrl: node.status_url as string,
    source: 'static' as const,
  }));
}

function listenOf(text: string): ListenAddress {
  const parsed = parseListenAddress(text);
  if (typeof parsed === 'string') throw new Error(parsed); // validated at load; unreachable
  return parsed;
}

/** The CA bundle named by probe.tls.ca_file, read once per loaded config (the prober and the Management Node share it). */
const caBundles = new WeakMap<Config, Buffer | undefined>();
function caBundle(config: Config): Buffer | undefined {
  if (!caBundles.has(config)) caBundles.set(config, config.probe.tls.ca_file ? readFileSync(config.probe.tls.ca_file) : undefined);
  return caBundles.get(config);
}

function proberFor(config: Config, clock: () => number): Prober {
  const tls = config.probe.tls;
  return new Prober({
    timeoutMs: config.probe.timeout,
    bodyLimit: config.probe.body_limit,
    clock,
    tls: {
      ca: caBundle(config),
      insecureSkipVerify: tls.insecure_skip_verify,
      servername: tls.servername,
    },
  });
}

/**
 * A running drainwatch.
 *
 * @example
 * const service = await Service.start(loadedConfig, { logger });
 * // ... later
 * await service.close();
 */
export class Service {
  readonly core: StateCore;
  readonly metrics: Metrics;
  readonly app: Hono;
  readonly logger: Logger;
  private loaded: LoadedConfig;
  private prober: Prober;
  private readonly scheduler: ProbeScheduler;
  private readonly http: HttpServer;
  private readonly frontends: Frontend[];
  private discovered: NodeSpec[] = [];
  private closing: Promise<void> | null = null;
  private readonly clock: () => number;
  private readonly smoother: WeightSmoother;
  private management: ManagementPoller | null = null;
  /** True between a failed sweep and the next good one (to log the recovery once). */
  private managementFailing = false;
  /** max_media_tokens per node from the last good Management Node sweep (capacity warning). */
  private capacity = new Map<string, number>();

  private constructor(loaded: LoadedConfig, options: ServiceOptions) {
    const clock = options.clock ?? Date.now;
    const { config } = loaded;
    this.loaded = loaded;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new Metrics({ clock });
    this.clock = clock;
    this.smoother = new WeightSmoother({ windowMs: () => this.loaded.config.policy.weight_smoothing });
    this.core = new StateCore({
      nodes: staticNodes(config),
      rise: config.probe.rise,
      fall: config.probe.fall,
      maxAgeMs: config.probe.max_age,
      policy: config.policy,
      clock,
      logger: this.logger,
      weightLoad: (name, management, now) => this.smoother.load(name, management, now),
    });
    this.metrics.bind(this.core);
    const warnings = new MaintenanceWarnings({
      policy: () => this.loaded.config.policy,
      capacityOf: (name) => this.capacity.get(name) ?? null,
      onWarning: (warning) => {
        this.metrics.managementWarnings.inc({ kind: warning.kind });
        this.logger.warn({ kind: warning.kind, ...warning.fields }, warning.message);
      },
      onRecovered: (fields) => this.logger.info(fields, 'ready capacity is back above policy.min_ready_capacity'),
    });
    this.core.onChange((snapshot) => warnings.observe(snapshot));
    this.metrics.configReloadTime.set(clock() / 1000);
    this.core.onTransition((transition) => this.metrics.transitions.inc({ from: transition.from, to: transition.to }));
    this.prober = proberFor(config, clock);
    this.scheduler = new ProbeScheduler({
      intervalMs: config.probe.interval,
      jitter: config.probe.jitter,
      concurrency: config.probe.concurrency,
      clock,
      probe: (node, signal) => this.prober.probe(node, signal),
      onResult: (node, observation) => {
        this.metrics.observeProbe(observation);
        this.core.recordProbe(node.name, observation);
      },
      onStart: (_node, latenessMs) => this.metrics.probeLateness.observe(latenessMs / 1000),
    });
    this.app = createHttpApp(this.logger);
    const context: FrontendContext = {
      source: this.core,
      core: this.core,
      config: () => this.loaded.config,
      secrets: () => this.loaded.secrets,
      logger: this.logger,
      metrics: this.metrics,
      app: this.app,
    };
    this.frontends = (options.frontends ?? DEFAULT_FRONTENDS).map((factory) => factory(context));
    this.http = new HttpServer(this.app, { listen: listenOf(config.http.listen), logger: this.logger });
  }

  /** Starts probing and every front-end; rejects (after cleaning up) if a listener cannot bind. */
  static async start(loaded: LoadedConfig, options: ServiceOptions = {}): Promise<Service> {
    const service = new Service(loaded, options);
    try {
      await service.http.start();
      for (const frontend of service.frontends) await frontend.start?.();
    } catch (error) {
      await service.destroy();
      throw error;
    }
    service.core.start();
    service.scheduler.setNodes(service.core.inventory());
    service.scheduler.start();
    service.startManagement();
    service.logger.info(
      { nodes: service.core.inventory().length, http: loaded.config.http.listen, source: loaded.source },
      'drainwatch started',
    );
    return service;
  }

  get config(): Config {
    return this.loaded.config;
  }

  get secrets(): Secrets {
    return this.loaded.secrets;
  }

  /** The bound HTTP address (port 0 in tests becomes a real port). */
  httpAddress(): { host: string; port: number } {
    const address = this.http.address();
    return { host: address.address, port: address.port };
  }

  /** A running front-end by name (e.g. "haproxy-agent" for its bound address), or undefined. */
  frontend(name: string): Frontend | undefined {
    return this.frontends.find((frontend) => frontend.name === name);
  }

  /** The Management Node poller's health (null when no `management` section is configured). */
  managementStatus(): PollerStatus | null {
    return this.management?.status() ?? null;
  }

  /** Replaces the nodes found by discovery; static entries with the same name win. */
  setDiscoveredNodes(nodes: readonly NodeSpec[]): void {
    this.discovered = [...nodes];
    this.applyInventory();
  }

  /** Re-reads the config file; a broken one is rejected and logged, the running config stays. */
  reloadFromFile(path: string): { ok: boolean; errors: string[] } {
    const result = loadConfigFile(path);
    if (!result.ok) {
      this.metrics.configReloads.inc({ result: 'failed' });
      this.logger.error({ source: path, errors: result.errors }, 'config reload rejected; keeping the running config');
      return { ok: false, errors: result.errors };
    }
    void this.reload(result);
    return { ok: true, errors: [] };
  }

  /** Applies a validated config: rules, timing, TLS, inventory, then each front-end. */
  async reload(loaded: LoadedConfig): Promise<void> {
    const previous = this.loaded.config;
    const previousSecrets = this.loaded.secrets;
    const { config } = loaded;
    this.loaded = loaded;
    if (config.http.listen !== previous.http.listen) {
      this.logger.warn({ from: previous.http.listen, to: config.http.listen }, 'http.listen changed: restart drainwatch to move the listener');
    }
    if (JSON.stringify(config.probe) !== JSON.stringify(previous.probe)) {
      const old = this.prober;
      this.prober = proberFor(config, Date.now);
      void old.close().catch(() => undefined);
    }
    this.core.updateRules({ rise: config.probe.rise, fall: config.probe.fall, maxAgeMs: config.probe.max_age, policy: config.policy });
    this.scheduler.updateTiming({ intervalMs: config.probe.interval, jitter: config.probe.jitter, concurrency: config.probe.concurrency });
    this.applyInventory();
    this.reloadManagement(previous, previousSecrets);
    for (const frontend of this.frontends) await frontend.reload?.();
    this.metrics.configReloads.inc({ result: 'ok' });
    this.metrics.configReloadTime.set(Date.now() / 1000);
    this.logger.info({ source: loaded.source, nodes: this.core.inventory().length }, 'config reloaded');
  }

  /** Graceful stop: stop probing (finishing in-flight probes), close front-ends, then the HTTP server. */
  close(graceMs = 5000): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  /** Immediate stop: abort probes and drop connections. */
  async destroy(): Promise<void> {
    await this.management?.destroy();
    this.scheduler.destroy();
    this.core.close();
    await Promise.allSettled(this.frontends.map((frontend) => frontend.close()));
    await this.http.close(0);
    await this.prober.destroy().catch(() => undefined);
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.logger.info({}, 'drainwatch stopping');
    const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    const graceful = (async () => {
      await this.management?.close();
      await this.scheduler.close();
      this.core.close();
      await Promise.allSettled(this.frontends.map((frontend) => frontend.close()));
      await this.http.close(graceMs);
      await this.prober.close();
    })();
    if ((await Promise.race([graceful, grace])) === 'timeout') {
      this.logger.warn({ grace_ms: graceMs }, 'grace period over; aborting what is left');
      await this.destroy();
    }
    this.logger.info({}, 'drainwatch stopped');
  }

  private applyInventory(): void {
    const statics = staticNodes(this.loaded.config);
    const names = new Set(statics.map((node) => node.name));
    const merged = [...statics, ...this.discovered.filter((node) => !names.has(node.name))];
    this.core.setInventory(merged);
    this.scheduler.setNodes(merged);
    this.smoother.retain(new Set(merged.map((node) => node.name)));
  }

  private startManagement(): void {
    const { management, probe } = this.loaded.config;
    if (!management || this.closing) return;
    const secrets = this.loaded.secrets;
    const hint = management.token_env ?? management.token_file ?? management.password_env ?? management.password_file;
    this.management = new ManagementPoller({
      url: management.url,
      username: management.username,
      password: secrets.managementPassword,
      token: secrets.managementToken,
      ...(hint ? { credentialHint: `management.username and the secret from ${hint}` } : {}),
      timeoutMs: management.timeout,
      pageSize: management.page_size,
      maxPages: management.max_pages,
      // The prober's CA bundle and verification opt-in apply to the Management Node too (its servername does not).
      tls: { ca: caBundle(this.loaded.config), insecureSkipVerify: probe.tls.insecure_skip_verify },
      intervalMs: management.interval,
      discover: management.discover,
      nodePort: management.node_port,
      statusUrlTemplate: management.status_url_template,
      portField: management.port_field,
      clock: this.clock,
      logger: this.logger,
      onSweep: (result) => this.applyManagement(result),
      onFailure: (error, stale, failures) => this.managementFailed(error, stale, failures),
    });
    this.management.start();
  }

  private reloadManagement(previous: Config, previousSecrets: Secrets): void {
    const { management } = this.loaded.config;
    const same =
      JSON.stringify(management) === JSON.stringify(previous.management) &&
      JSON.stringify(this.loaded.config.probe.tls) === JSON.stringify(previous.probe.tls) &&
      JSON.stringify(this.loaded.secrets) === JSON.stringify(previousSecrets);
    if (same && this.management) return;
    const old = this.management;
    this.management = null;
    void old?.close();
    if (!management) {
      // Management removed: forget its nodes and its view of the static ones.
      this.capacity = new Map();
      if (this.discovered.length > 0) this.setDiscoveredNodes([]);
      for (const spec of this.core.inventory()) this.core.recordManagement(spec.name, null);
      return;
    }
    this.startManagement();
  }

  private applyManagement(result: SweepResult): void {
    const wasFailing = this.managementFailing;
    this.managementFailing = false;
    this.metrics.managementPolls.inc({ result: 'ok' });
    if (wasFailing) this.logger.info({ pages: result.pages }, 'Management Node sweep succeeded again');
    this.capacity = result.capacity;
    // Only a changed inventory is applied: setInventory publishes a new snapshot version.
    if (result.discovered && JSON.stringify(result.discovered) !== JSON.stringify(this.discovered)) {
      this.setDiscoveredNodes(result.discovered);
    }
    for (const spec of this.core.inventory()) this.core.recordManagement(spec.name, result.observations.get(spec.name) ?? null);
  }

  private managementFailed(error: DrainwatchError, stale: Map<string, ManagementObservation>, failures: number): void {
    this.managementFailing = true;
    this.metrics.managementPolls.inc({ result: outcomeOf(error) });
    this.logger.error({ code: error.code, failures, kept_stale: stale.size }, `${error.message} (keeping the last good data, marked stale)`);
    for (const spec of this.core.inventory()) {
      const observation = stale.get(spec.name);
      if (observation) this.core.recordManagement(spec.name, observation);
    }
  }
}
